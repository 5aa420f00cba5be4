// mimalloc, unless built with `--features system-allocator`. Measured A/B
// with server/benches/scripts/allocator_ab.sh (BENCHMARKS.md, "Allocator").
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    contacts_server::cli::run()
}
