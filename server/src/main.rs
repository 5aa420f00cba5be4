// glibc's malloc and free were about 15% of an import's CPU time, and
// mimalloc served contact(id) 40% faster (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    contacts_server::cli::run()
}
