//! The contacts-server entry point, built inside the end-to-end package so
//! its tests can spawn it through `CARGO_BIN_EXE_e2e-server`. It is the same
//! one line as `server/src/main.rs`.

fn main() -> std::process::ExitCode {
    contacts_server::cli::run()
}
