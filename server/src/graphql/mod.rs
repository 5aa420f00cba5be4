//! The GraphQL schema: inputs are parsed here, guards checked here, and
//! every error mapped here (`error.rs`). Resolvers stay short: read input,
//! call one store function, wrap the result.

pub mod contact;
pub mod error;
mod guards;
pub mod ids;
mod mutation;
mod page;
mod query;
mod user;

use async_graphql::{Context, EmptySubscription, Schema, SchemaBuilder};

use crate::AppState;
use crate::domain::Principal;
use error::ApiError;
pub use mutation::Mutation;
pub use query::Query;

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// Deeper than any query our clients send, shallow enough to stop abuse.
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 5_000;

/// The schema without runtime data: enough to print the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

pub fn build_schema(state: AppState) -> AppSchema {
    schema_builder().data(state).finish()
}

/// The SDL that `schema.graphql` holds.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

pub(crate) fn state<'a>(ctx: &Context<'a>) -> Result<&'a AppState, ApiError> {
    ctx.data::<AppState>().map_err(|_| {
        tracing::error!("schema executed without AppState");
        ApiError::Internal
    })
}

pub(crate) fn principal<'a>(ctx: &Context<'a>) -> Result<&'a Principal, ApiError> {
    ctx.data::<Principal>().map_err(|_| ApiError::Unauthenticated)
}
