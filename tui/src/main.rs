//! `contacts-tui`: the terminal admin client. See the library for how it
//! is built.

use std::process::ExitCode;

use clap::Parser;
use contacts_tui::app::App;
use contacts_tui::config::{Args, Config};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::resolve(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("contacts-tui: {err}");
            return ExitCode::from(2);
        }
    };
    match contacts_tui::terminal::run(App::new(config)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("contacts-tui: {err}");
            ExitCode::FAILURE
        }
    }
}
