//! What a hostile document costs the server before any of it runs: the
//! time from receiving it to refusing (or accepting) it, as the server now
//! does it (parse, then the cost check of `graphql/cost.rs`, then
//! async-graphql only if the check lets it through) and, as "before", with
//! only async-graphql's own depth (12) and complexity (5,000) limits, as
//! the server was configured until the check landed.
//! Run: `cargo bench -p contacts-server --bench query_cost`.
//! BENCH_LEVELS (default 25) sets the fragment levels of the first document;
//! BENCH_SKIP_BEFORE=1 skips the slow "before" runs.

use std::time::{Duration, Instant};

mod support;

use async_graphql::{EmptySubscription, Request, Schema, Variables};
use contacts_server::graphql::cost::{CostSchema, Limits, check, doubling_fragments};
use contacts_server::graphql::{Mutation, Query};

use support::{ALLOCATOR_NAME, env_or};

/// 64 KiB of aliases of one cheap field.
fn aliases_64k() -> String {
    let mut doc = String::from("{");
    let mut i = 0;
    while doc.len() < 64 * 1024 - 32 {
        doc.push_str(&format!(" a{i}: me {{ id }}"));
        i += 1;
    }
    doc.push_str(" }");
    doc
}

/// 64 KiB of one fragment spread under many aliases: each alias expands
/// the fragment again.
fn spreads_64k() -> String {
    let fields: String = (0..200).map(|i| format!(" f{i}: id")).collect();
    let mut doc = String::from("{");
    let mut i = 0;
    while doc.len() < 64 * 1024 - 4096 {
        doc.push_str(&format!(" a{i}: me {{ ...U }}"));
        i += 1;
    }
    doc.push_str(&format!(" }} fragment U on User {{{fields} }}"));
    doc
}

type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// How a request is let in: as now (priced first), or as before.
enum Door<'a> {
    Priced(&'a CostSchema, &'a AppSchema),
    Before(&'a AppSchema),
}

/// What became of one document, and how long it took.
async fn admit(door: &Door<'_>, document: &str) -> String {
    match door {
        Door::Priced(costs, schema) => {
            let parsed = match async_graphql::parser::parse_query(document) {
                Ok(parsed) => parsed,
                Err(err) => return err.to_string(),
            };
            if let Err(refusal) = check(
                costs,
                &parsed,
                &Variables::default(),
                None,
                &Limits::default(),
            ) {
                return refusal.to_string();
            }
            let response = schema.execute(Request::new(document)).await;
            response
                .errors
                .first()
                .map_or_else(|| "accepted".to_owned(), |e| e.message.clone())
        }
        Door::Before(schema) => {
            let response = schema.execute(Request::new(document)).await;
            response
                .errors
                .first()
                .map_or_else(|| "accepted".to_owned(), |e| e.message.clone())
        }
    }
}

/// Median time of `runs` requests of `document`, and what became of it.
async fn time(door: &Door<'_>, document: &str, runs: usize) -> (Duration, String) {
    let mut times = Vec::with_capacity(runs);
    let mut outcome = String::new();
    for _ in 0..runs {
        let started = Instant::now();
        outcome = admit(door, document).await;
        times.push(started.elapsed());
    }
    times.sort();
    (times[times.len() / 2], outcome)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let levels: usize = env_or("BENCH_LEVELS", 25);
        let skip_before = std::env::var_os("BENCH_SKIP_BEFORE").is_some();
        let schema = Schema::build(Query, Mutation::default(), EmptySubscription).finish();
        let costs = CostSchema::from_sdl(&schema.sdl()).expect("the SDL");
        let after = Door::Priced(&costs, &schema);
        let old = Schema::build(Query, Mutation::default(), EmptySubscription)
            .limit_depth(12)
            .limit_complexity(5_000)
            .finish();
        let before = Door::Before(&old);
        let documents = [
            (
                format!("{levels}-level doubling fragments"),
                doubling_fragments(levels),
            ),
            ("64 KiB of aliases".to_owned(), aliases_64k()),
            (
                "64 KiB of aliases spreading a 200-field fragment".to_owned(),
                spreads_64k(),
            ),
        ];
        println!("allocator: {ALLOCATOR_NAME}");
        println!("| document | bytes | with the cost check | before (async-graphql limits only) |");
        println!("|---|---|---|---|");
        for (name, document) in &documents {
            let (with_check, refusal) = time(&after, document, 21).await;
            let before = if skip_before {
                "skipped".to_owned()
            } else {
                let (took, outcome) = time(&before, document, 1).await;
                format!("{took:.2?} ({outcome})")
            };
            println!(
                "| {name} | {} | {with_check:.2?} ({refusal}) | {before} |",
                document.len()
            );
        }
    });
}
