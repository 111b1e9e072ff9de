//! The `eventfeed` binary: everything lives in the library; see `cli::run`.

/// Rendering allocates many short strings on two threads; glibc's allocator spent
/// a fifth of a build in malloc and free, mimalloc a fraction of that.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Frees the calling thread's unused pages at once (mimalloc would purge
/// them only on its next allocation, which an idle daemon never makes).
#[cfg(feature = "mimalloc")]
#[allow(unsafe_code)]
fn release() {
    // SAFETY: takes no pointer and has no precondition; callable on any
    // thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> std::process::ExitCode {
    #[cfg(feature = "mimalloc")]
    eventfeed::memory::set_release(release);
    eventfeed::cli::run()
}
