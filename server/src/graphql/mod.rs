//! The GraphQL schema: inputs are parsed here, guards checked here, and
//! every error mapped here (`error.rs`). Resolvers stay short: read input,
//! call one store function, wrap the result.

/// Maps each GraphQL enum to the domain (or stored) one and back; declared
/// before the modules so each of them can use it.
macro_rules! mirror_enum {
    ($api:ident <=> $domain:ty { $($variant:ident),+ $(,)? }) => {
        impl From<$api> for $domain {
            fn from(value: $api) -> Self {
                match value { $($api::$variant => <$domain>::$variant),+ }
            }
        }
        impl From<$domain> for $api {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $api::$variant),+ }
            }
        }
    };
}

pub mod activity;
mod admin;
pub mod contact;
pub mod cost;
pub mod error;
mod field_policy;
pub mod ids;
mod import;
mod integration;
mod loaders;
mod merge;
mod mutation;
mod node;
mod page;
mod query;
mod user;

use async_graphql::{Context, EmptySubscription, Schema, SchemaBuilder};

use crate::AppState;
use crate::domain::Principal;
use error::ApiError;
/// Every mutation: contacts and their data, and administration.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(mutation::CoreMutation, admin::AdminMutation);
pub use query::Query;

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema without runtime data: enough to print the SDL. Depth and
/// cost are limited by [`cost::check`], which the HTTP layer runs before
/// execution, not by async-graphql's own limits, whose validation inlines
/// fragments (see `cost.rs`).
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation::default(), EmptySubscription)
}

pub fn build_schema(state: AppState) -> AppSchema {
    let store = state.store.clone();
    loaders::register(schema_builder().data(state), &store).finish()
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
    ctx.data::<Principal>()
        .map_err(|_| ApiError::Unauthenticated)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use async_graphql::parser::parse_schema;
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    /// Every field of Query and Mutation is what a client developer reads
    /// first (GraphiQL's docs, generated code); each must say what it does.
    #[test]
    fn every_root_field_is_described() {
        let document = parse_schema(super::sdl()).expect("the SDL parses");
        let mut undescribed = Vec::new();
        let mut seen = 0;
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let ty = &ty.node;
            let root = ty.name.node.as_str();
            if root != "Query" && root != "Mutation" {
                continue;
            }
            let TypeKind::Object(object) = &ty.kind else {
                continue;
            };
            for field in &object.fields {
                seen += 1;
                let described = field
                    .node
                    .description
                    .as_ref()
                    .is_some_and(|d| !d.node.trim().is_empty());
                if !described {
                    undescribed.push(format!("{root}.{}", field.node.name.node));
                }
            }
        }
        assert!(seen > 10, "Query and Mutation were not found in the SDL");
        assert!(
            undescribed.is_empty(),
            "fields without a description (give each a doc comment): {}",
            undescribed.join(", ")
        );
    }

    /// `schema.graphql` is what clients generate code from; it must be the
    /// schema the server serves.
    #[test]
    fn checked_in_schema_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
        let served = super::sdl();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &served).expect("write schema.graphql");
            return;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == served,
            "schema.graphql differs from the served schema; regenerate it with \
             `cargo run -p contacts-server -- schema > schema.graphql` \
             (or UPDATE_SCHEMA=1 cargo test -p contacts-server)"
        );
    }
}
