//! `ferryctl`: the operator CLI of the Ferry mesh.

/// mimalloc instead of glibc's malloc: the proxy allocates and frees a little per request
/// (header maps, buffers handed between tasks), and profiles at saturation put glibc's
/// allocator (with its fastbin consolidation on every allocation above 1 KiB) at several per
/// cent of the proxy's CPU time; `benches/proxy.sh` measures the difference.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ferry::cli::main()
}
