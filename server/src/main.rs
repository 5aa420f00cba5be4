// mimalloc, unless built with `--features system-allocator`. Measured A/B
// on 2026-12-04 (server/benches/scripts/allocator_ab.sh, BENCHMARKS.md,
// "Allocator"): a 1M-row SQLite import took 10-14% less time than with
// glibc's malloc, at 40-55% more peak memory; contact(id) over HTTP was no
// different.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    contacts_server::cli::run()
}
