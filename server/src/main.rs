fn main() -> std::process::ExitCode {
    contacts_server::cli::run()
}
