//! The abuse suite: each attack of issue 15 (DESIGN.md section 12) run
//! against a real server process on both backends. Every test asserts the
//! clear error the attack gets, and where it matters that `/healthz`
//! answered fast throughout, that the server's memory stayed bounded and
//! that nothing of the refused input was written.

mod connections;
mod graphql_cost;
mod look_alike;
mod outbound;
mod requests;
mod upload;
