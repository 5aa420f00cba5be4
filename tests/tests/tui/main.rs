//! End-to-end tests of the terminal client against a real server process.

#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;
