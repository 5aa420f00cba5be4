//! The typed operations. Each struct is generated from a file in
//! `tui/graphql/` checked against `../schema.graphql` at build time, so a
//! schema change that breaks an operation breaks this crate's build.

use graphql_client::GraphQLQuery;

/// The schema's `DateTime` scalar: RFC 3339 text. The screens only print
/// it, so parsing it into a date type would buy nothing.
type DateTime = String;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/me.graphql",
    response_derives = "Debug"
)]
pub struct Me;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/contacts.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct ContactList;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/contact.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct ContactDetail;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/contact.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct ContactHistory;

// `skip_serializing_none` matters for the edit: a field left out of
// `ContactInput` is unchanged, an explicit null would clear it. Clearing is
// done with a blank string, which the schema documents as clearing too.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/save.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct CreateContact;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/save.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct UpdateContact;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/delete.graphql",
    response_derives = "Debug"
)]
pub struct DeleteContact;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/activities.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct ActivityList;

/// The schema's `Upload` scalar. In a GraphQL multipart request the
/// variable holding the file is sent as `null` and the file travels as a
/// part of its own (see `api/import.rs`), so a unit struct, which serde
/// writes as `null`, is all the variable needs.
#[derive(Debug, serde::Serialize)]
pub struct Upload;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/import.graphql",
    response_derives = "Debug"
)]
pub struct ImportContacts;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/import.graphql",
    response_derives = "Debug"
)]
pub struct ImportJob;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/import.graphql",
    response_derives = "Debug"
)]
pub struct ImportJobs;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/import.graphql",
    response_derives = "Debug"
)]
pub struct ImportErrorReport;

// The admin screens' operations. `skip_serializing_none` keeps a field of
// `UpdateUserInput` left as `None` out of the request: "unchanged".
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/users.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct Users;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/users.graphql",
    response_derives = "Debug"
)]
pub struct Teams;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/users.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct CreateUser;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/users.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct UpdateUser;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/users.graphql",
    response_derives = "Debug"
)]
pub struct CreateTeam;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/tokens.graphql",
    response_derives = "Debug"
)]
pub struct UserTokens;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/tokens.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct IssueToken;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/tokens.graphql",
    response_derives = "Debug"
)]
pub struct RevokeToken;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/integrations.graphql",
    response_derives = "Debug"
)]
pub struct Integrations;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/integrations.graphql",
    response_derives = "Debug"
)]
pub struct DisconnectIntegration;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/policies.graphql",
    response_derives = "Debug"
)]
pub struct FieldPolicies;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/policies.graphql",
    response_derives = "Debug"
)]
pub struct SetFieldPolicy;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/integrations.graphql",
    response_derives = "Debug"
)]
pub struct Redeliver;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/merges.graphql",
    response_derives = "Debug",
    skip_serializing_none
)]
pub struct UndoMerge;
