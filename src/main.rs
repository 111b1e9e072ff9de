//! The `eventfeed` binary: everything lives in the library; see `cli::run`.

/// Rendering allocates many short strings on two threads; glibc's allocator spent
/// a fifth of a build in malloc and free, mimalloc a fraction of that.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    eventfeed::cli::run()
}
