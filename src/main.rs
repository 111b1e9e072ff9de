fn main() -> std::process::ExitCode {
    eventfeed::cli::run()
}
