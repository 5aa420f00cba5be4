//! The client side of the schema: one async function per operation, taking
//! and returning `model` types. Generated types stop here.

mod error;
mod failed_rows;
mod import;
mod integrations;
mod merges;
mod operations;
mod policies;
mod users;

use std::time::Duration;

use graphql_client::GraphQLQuery;
use reqwest::StatusCode;

pub use error::{ApiError, FieldError};
pub use import::read_header;
pub use integrations::DELIVERIES;

use crate::config::Config;
use crate::model::{
    ActivityContact, ActivityKind, ActivityPage, ActivityRow, Contact, ContactField, ContactPage,
    ContactRow, FieldChange, FieldChoice, FieldMerge, FieldRights, HistoryEntry, ListQuery, Me,
    MeetingSummary, MergePreview, MergeRecord, MergeSide, PolicyField, PreviewContact,
    RecentActivity, Role, SaveOutcome, SortField, Source, display_name,
};

/// Builds the operation's own `ContactInput` (each generated module has
/// one) holding only the given fields; the rest stay out of the request.
macro_rules! contact_input {
    ($op:ident, $changes:expr) => {{
        let mut input = $op::ContactInput {
            first_name: None,
            last_name: None,
            email: None,
            mobile_phone: None,
            company: None,
            job_title: None,
            timezone: None,
            owner_id: None,
            team_id: None,
        };
        for (field, value) in $changes {
            let slot = match field {
                ContactField::FirstName => &mut input.first_name,
                ContactField::LastName => &mut input.last_name,
                ContactField::Email => &mut input.email,
                ContactField::MobilePhone => &mut input.mobile_phone,
                ContactField::Company => &mut input.company,
                ContactField::JobTitle => &mut input.job_title,
                ContactField::Timezone => &mut input.timezone,
            };
            *slot = Some(value.clone());
        }
        input
    }};
}

/// A generated `FieldMerge` (each operation has its own) as the model's.
macro_rules! field_merge {
    ($op:ident, $field:expr) => {{
        let field = $field;
        FieldMerge {
            field: field.field,
            current: field.current,
            incoming: field.incoming,
            outcome: match field.outcome {
                $op::MergeOutcome::FILLED => $crate::model::MergeOutcome::Filled,
                $op::MergeOutcome::OVERWRITTEN => $crate::model::MergeOutcome::Overwritten,
                $op::MergeOutcome::RETAINED => $crate::model::MergeOutcome::Retained,
                $op::MergeOutcome::UNCHANGED => $crate::model::MergeOutcome::Unchanged,
                $op::MergeOutcome::Other(other) => $crate::model::MergeOutcome::Other(other),
            },
        }
    }};
}

/// The merge prompt's choices as the operation's own `FieldChoice`s
/// (each generated module has its copy); `None` when there are none.
macro_rules! field_choices {
    ($op:ident, $choices:expr) => {{
        let choices: Vec<$op::FieldChoice> = $choices
            .iter()
            .map(|choice: &FieldChoice| $op::FieldChoice {
                field: match choice.field {
                    ContactField::FirstName => $op::ContactField::FIRST_NAME,
                    ContactField::LastName => $op::ContactField::LAST_NAME,
                    ContactField::Email => $op::ContactField::EMAIL,
                    ContactField::MobilePhone => $op::ContactField::MOBILE_PHONE,
                    ContactField::Company => $op::ContactField::COMPANY,
                    ContactField::JobTitle => $op::ContactField::JOB_TITLE,
                    ContactField::Timezone => $op::ContactField::TIMEZONE,
                },
                keep: match choice.keep {
                    MergeSide::Survivor => $op::MergeSide::SURVIVOR,
                    MergeSide::Incoming => $op::MergeSide::INCOMING,
                },
            })
            .collect();
        (!choices.is_empty()).then_some(choices)
    }};
}

/// Reads a `SavePayload` fragment of either save mutation; the two
/// generated copies have the same shape but different types.
macro_rules! save_outcome {
    ($op:ident, $payload:expr) => {{
        let payload = $payload;
        if let Some(preview) = payload.merge_preview {
            let person = |contact: $op::PreviewContact| PreviewContact {
                name: display_name(
                    contact.first_name.as_deref(),
                    contact.last_name.as_deref(),
                    [contact.email.as_deref(), contact.mobile_phone.as_deref()],
                ),
                id: contact.id,
                version: contact.version,
            };
            Ok(SaveOutcome::NeedsMerge(MergePreview {
                survivor: person(preview.survivor),
                merged: preview.merged.map(person),
                fields: preview
                    .fields
                    .into_iter()
                    .map(|field| field_merge!($op, field))
                    .collect(),
            }))
        } else if let Some(contact) = payload.contact {
            Ok(SaveOutcome::Saved { id: contact.id })
        } else {
            Err(ApiError::Server(
                "the save answered with neither a contact nor a merge preview".to_owned(),
            ))
        }
    }};
}

/// How many history entries the detail screen reads.
const HISTORY_PAGE: i64 = 50;
/// How many recent activities the detail screen reads.
const ACTIVITIES_PAGE: i64 = 5;
/// How many merges into a contact the detail screen reads: the newest
/// standing one is the one an undo can take back.
const MERGES_PAGE: i64 = 20;

/// Holds the connection pool; cheap to clone into request tasks.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    /// What the signed-in user may read; the queries ask for nothing else.
    rights: FieldRights,
}

impl ApiClient {
    pub fn new(config: &Config) -> ApiClient {
        // A server that accepts the connection and then hangs must not leave
        // a request (and its spinner) in flight forever.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        ApiClient {
            http,
            url: config.url.clone(),
            token: config.token.clone(),
            rights: FieldRights::ALL,
        }
    }

    /// Once `me` has told what the user may read: the requests sent from
    /// now on ask for nothing else.
    pub fn set_rights(&mut self, rights: FieldRights) {
        self.rights = rights;
    }

    fn reads(&self, field: PolicyField) -> bool {
        self.rights.may_read(field)
    }

    async fn run<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
    ) -> Result<Q::ResponseData, ApiError> {
        let body = Q::build_query(variables);
        self.send::<Q>(self.http.post(&self.url).json(&body)).await
    }

    /// Sends a POST built by the caller (a JSON body, or the multipart body
    /// of an upload) with the token, and reads the answer as `Q`'s.
    async fn send<Q: GraphQLQuery>(
        &self,
        mut request: reqwest::RequestBuilder,
    ) -> Result<Q::ResponseData, ApiError> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|err| ApiError::Unreachable(describe_transport_error(&err)))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(ApiError::Unauthenticated);
        }
        let answer: graphql_client::Response<Q::ResponseData> = match response.json().await {
            Ok(answer) => answer,
            Err(_) if !status.is_success() => {
                return Err(ApiError::Server(format!(
                    "the server answered HTTP {status}"
                )));
            }
            Err(err) => {
                return Err(ApiError::Server(format!(
                    "the server's answer is not GraphQL: {err}"
                )));
            }
        };
        if let Some(errors) = answer.errors.filter(|errors| !errors.is_empty()) {
            return Err(ApiError::from_graphql(&errors));
        }
        answer
            .data
            .ok_or_else(|| ApiError::Server("the server answered without data".to_owned()))
    }

    pub async fn me(&self) -> Result<Me, ApiError> {
        let data = self
            .run::<operations::Me>(operations::me::Variables)
            .await?;
        use operations::me::Role as R;
        Ok(Me {
            name: data.me.name,
            // A user always reads their own role; were it withheld, the
            // client would offer what an unknown role gets: reading only.
            role: match data.me.role {
                Some(R::ADMIN) => Role::Admin,
                Some(R::MEMBER) => Role::Member,
                Some(R::VIEWER) => Role::Viewer,
                Some(R::INTEGRATION) => Role::Integration,
                Some(R::Other(other)) => Role::Other(other),
                None => Role::Other("withheld".to_owned()),
            },
            // Listed for the user and for admins; a server that does not
            // say leaves the role's default policies in force.
            permissions: data.me.permissions.map(|permissions| {
                use operations::me as op;
                FieldRights::from_permissions(permissions.into_iter().filter_map(|policy| {
                    let field = policies::policy_field!(op, policy.field)?;
                    let access = policies::field_access!(op, policy.access)?;
                    Some((field, access))
                }))
            }),
        })
    }

    pub async fn contacts(
        &self,
        query: &ListQuery,
        first: i64,
        after: Option<String>,
    ) -> Result<ContactPage, ApiError> {
        use operations::contact_list as op;
        let search = query.search.trim();
        let variables = op::Variables {
            first: Some(first),
            after,
            filter: Some(op::ContactFilter {
                search: (!search.is_empty()).then(|| search.to_owned()),
                owner_id: None,
                team_id: None,
                source: query.source.map(|source| match source {
                    Source::Manual => op::ContactSource::MANUAL,
                    Source::Api => op::ContactSource::API,
                    Source::Import => op::ContactSource::IMPORT,
                    Source::Meeting => op::ContactSource::MEETING,
                    Source::Chatbot => op::ContactSource::CHATBOT,
                    Source::RoutingForm => op::ContactSource::ROUTING_FORM,
                }),
            }),
            first_name: query.fields.may_read(PolicyField::FirstName),
            last_name: query.fields.may_read(PolicyField::LastName),
            email: query.fields.may_read(PolicyField::Email),
            mobile_phone: query.fields.may_read(PolicyField::MobilePhone),
            company: query.fields.may_read(PolicyField::Company),
            owner: query.fields.may_read(PolicyField::Owner),
            order_by: Some(op::ContactOrder {
                field: match query.sort {
                    SortField::Name => op::ContactOrderField::NAME,
                    SortField::CreatedAt => op::ContactOrderField::CREATED_AT,
                    SortField::UpdatedAt => op::ContactOrderField::UPDATED_AT,
                },
                direction: if query.ascending {
                    op::OrderDirection::ASC
                } else {
                    op::OrderDirection::DESC
                },
            }),
        };
        let data = self.run::<operations::ContactList>(variables).await?;
        let connection = data.contacts;
        Ok(ContactPage {
            total: connection.total_count,
            total_capped: connection.total_count_capped,
            has_next_page: connection.page_info.has_next_page,
            end_cursor: connection.page_info.end_cursor,
            rows: connection
                .edges
                .into_iter()
                .map(|edge| {
                    let node = edge.node;
                    ContactRow {
                        name: display_name(
                            node.first_name.as_deref(),
                            node.last_name.as_deref(),
                            [node.email.as_deref(), node.mobile_phone.as_deref()],
                        ),
                        id: node.id,
                        email: node.email,
                        mobile_phone: node.mobile_phone,
                        company: node.company,
                        owner: node.owner.map(|owner| owner.name),
                        updated_at: node.updated_at,
                    }
                })
                .collect(),
        })
    }

    /// A page of activities, newest first, of one kind or all.
    pub async fn activities(
        &self,
        kind: Option<ActivityKind>,
        first: i64,
        after: Option<String>,
    ) -> Result<ActivityPage, ApiError> {
        use operations::activity_list as op;
        let variables = op::Variables {
            first: Some(first),
            after,
            filter: Some(op::ActivityFilter {
                kind: kind.map(|kind| match kind {
                    ActivityKind::Meeting => op::ActivityKind::MEETING,
                    ActivityKind::Chatbot => op::ActivityKind::CHATBOT,
                    ActivityKind::RoutingForm => op::ActivityKind::ROUTING_FORM,
                }),
                contact_id: None,
                from: None,
                to: None,
            }),
            first_name: self.reads(PolicyField::FirstName),
            last_name: self.reads(PolicyField::LastName),
            email: self.reads(PolicyField::Email),
            mobile_phone: self.reads(PolicyField::MobilePhone),
        };
        let data = self.run::<operations::ActivityList>(variables).await?;
        let connection = data.activities;
        Ok(ActivityPage {
            total: connection.total_count,
            has_next_page: connection.page_info.has_next_page,
            end_cursor: connection.page_info.end_cursor,
            rows: connection
                .edges
                .into_iter()
                .map(|edge| {
                    let node = edge.node;
                    let submitted = node.submitted;
                    ActivityRow {
                        id: node.id,
                        kind: enum_name(&node.kind),
                        occurred_at: node.occurred_at,
                        external_id: node.external_id,
                        identity_conflict: node.identity_conflict,
                        contact: node.contact.map(|contact| ActivityContact {
                            name: display_name(
                                contact.first_name.as_deref(),
                                contact.last_name.as_deref(),
                                [contact.email.as_deref(), contact.mobile_phone.as_deref()],
                            ),
                            id: contact.id,
                        }),
                        submitted_name: display_name(
                            submitted.first_name.as_deref(),
                            submitted.last_name.as_deref(),
                            [
                                submitted.email.as_deref(),
                                submitted.mobile_phone.as_deref(),
                            ],
                        ),
                        meeting: node.meeting.map(|meeting| MeetingSummary {
                            starts_at: meeting.starts_at,
                            status: enum_name(&meeting.status),
                            calendar_provider: enum_name(&meeting.calendar_provider),
                        }),
                    }
                })
                .collect(),
        })
    }

    /// `Ok(None)` when the contact does not exist (any more) or the caller
    /// cannot reach it; the server does not tell those apart. Asks only for
    /// what the user may read; the history, in a query of its own, at the
    /// same time.
    pub async fn contact(&self, id: &str) -> Result<Option<Contact>, ApiError> {
        use operations::contact_detail as op;
        let variables = op::Variables {
            id: id.to_owned(),
            activities_first: Some(ACTIVITIES_PAGE),
            merges_first: Some(MERGES_PAGE),
            first_name: self.reads(PolicyField::FirstName),
            last_name: self.reads(PolicyField::LastName),
            email: self.reads(PolicyField::Email),
            mobile_phone: self.reads(PolicyField::MobilePhone),
            company: self.reads(PolicyField::Company),
            job_title: self.reads(PolicyField::JobTitle),
            timezone: self.reads(PolicyField::Timezone),
            owner: self.reads(PolicyField::Owner),
            team: self.reads(PolicyField::Team),
            merges: self.reads(PolicyField::History),
        };
        let detail = self.run::<operations::ContactDetail>(variables);
        let (detail, history) = if self.reads(PolicyField::History) {
            let (detail, history) = tokio::join!(detail, self.history(id));
            (detail?, Some(history?))
        } else {
            (detail.await?, None)
        };
        Ok(detail.contact.map(|contact| {
            let fields = contact.contact_fields;
            let (history_total, history) = history.unwrap_or_default();
            Contact {
                id: fields.id,
                first_name: fields.first_name,
                last_name: fields.last_name,
                email: fields.email,
                mobile_phone: fields.mobile_phone,
                company: fields.company,
                job_title: fields.job_title,
                timezone: fields.timezone,
                source: format!("{:?}", fields.source),
                owner: fields.owner.map(|owner| owner.name),
                team: fields.team.map(|team| team.name),
                merged_ids: fields.merged_ids,
                version: fields.version,
                created_at: fields.created_at,
                updated_at: fields.updated_at,
                activities_total: contact.activities.total_count,
                activities: contact
                    .activities
                    .edges
                    .into_iter()
                    .map(|edge| RecentActivity {
                        kind: format!("{:?}", edge.node.kind),
                        occurred_at: edge.node.occurred_at,
                        meeting: edge
                            .node
                            .meeting
                            .map(|meeting| (meeting.starts_at, format!("{:?}", meeting.status))),
                    })
                    .collect(),
                merges_total: contact
                    .merges
                    .as_ref()
                    .map_or(0, |merges| merges.total_count),
                merges: contact
                    .merges
                    .map(|merges| merges.edges)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|edge| {
                        let node = edge.node;
                        MergeRecord {
                            id: node.id,
                            merged_id: node.merged_id,
                            merged_at: node.merged_at,
                            merged_by: node.merged_by.map(|user| user.name),
                            source: node.source,
                            undone_at: node.undone_at,
                            undoable: node.undoable,
                            edited_since: node
                                .edited_since
                                .into_iter()
                                .filter_map(|field| policies::policy_field!(op, field))
                                .collect(),
                            fields: node
                                .fields
                                .into_iter()
                                .map(|field| field_merge!(op, field))
                                .collect(),
                        }
                    })
                    .collect(),
                rights: self.rights,
                history_total,
                history,
            }
        }))
    }

    /// The contact's history and its total; empty when the contact is
    /// gone (the detail query says so).
    async fn history(&self, id: &str) -> Result<(i64, Vec<HistoryEntry>), ApiError> {
        use operations::contact_history as op;
        let variables = op::Variables {
            id: id.to_owned(),
            history_first: Some(HISTORY_PAGE),
        };
        let data = self.run::<operations::ContactHistory>(variables).await?;
        let Some(history) = data.contact.and_then(|contact| contact.history) else {
            return Ok((0, Vec::new()));
        };
        let entries = history
            .edges
            .into_iter()
            .map(|edge| {
                let node = edge.node;
                HistoryEntry {
                    action: node.action,
                    merged_contact_id: node.merged_contact_id,
                    source: node.source,
                    at: node.at,
                    actor: node.actor.map(|actor| actor.name),
                    changes: node
                        .changes
                        .into_iter()
                        .map(|change| FieldChange {
                            before: history_value(&change.field, change.before, change.before_name),
                            after: history_value(&change.field, change.after, change.after_name),
                            field: change.field,
                        })
                        .collect(),
                }
            })
            .collect();
        Ok((history.total_count, entries))
    }

    pub async fn create(
        &self,
        changes: &[(ContactField, String)],
        choices: &[FieldChoice],
        confirm_survivor_version: Option<i64>,
    ) -> Result<SaveOutcome, ApiError> {
        use operations::create_contact as op;
        let variables = op::Variables {
            input: contact_input!(op, changes),
            confirm_merge: confirm_survivor_version.map(|_| true),
            expected_survivor_version: confirm_survivor_version,
            choices: field_choices!(op, choices),
            first_name: self.reads(PolicyField::FirstName),
            last_name: self.reads(PolicyField::LastName),
            email: self.reads(PolicyField::Email),
            mobile_phone: self.reads(PolicyField::MobilePhone),
        };
        let data = self.run::<operations::CreateContact>(variables).await?;
        save_outcome!(op, data.create_contact)
    }

    pub async fn update(
        &self,
        id: &str,
        expected_version: i64,
        changes: &[(ContactField, String)],
        choices: &[FieldChoice],
        confirm_survivor_version: Option<i64>,
    ) -> Result<SaveOutcome, ApiError> {
        use operations::update_contact as op;
        let variables = op::Variables {
            id: id.to_owned(),
            input: contact_input!(op, changes),
            confirm_merge: confirm_survivor_version.map(|_| true),
            expected_version: Some(expected_version),
            expected_survivor_version: confirm_survivor_version,
            choices: field_choices!(op, choices),
            first_name: self.reads(PolicyField::FirstName),
            last_name: self.reads(PolicyField::LastName),
            email: self.reads(PolicyField::Email),
            mobile_phone: self.reads(PolicyField::MobilePhone),
        };
        let data = self.run::<operations::UpdateContact>(variables).await?;
        save_outcome!(op, data.update_contact)
    }

    pub async fn delete(&self, id: &str) -> Result<String, ApiError> {
        use operations::delete_contact as op;
        let variables = op::Variables { id: id.to_owned() };
        let data = self.run::<operations::DeleteContact>(variables).await?;
        Ok(data.delete_contact.deleted_contact_id)
    }
}

/// A generated enum's value as the schema spells it. graphql_client names
/// the variants after the schema's values and keeps unknown ones as
/// `Other(name)`.
fn enum_name(value: &impl std::fmt::Debug) -> String {
    let name = format!("{value:?}");
    match name
        .strip_prefix("Other(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
    {
        Some(other) => other.to_owned(),
        None => name,
    }
}

/// The transport error without reqwest's nesting, short enough for a screen.
fn describe_transport_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "the request timed out".to_owned();
    }
    if err.is_connect() {
        return "connection refused or host unreachable".to_owned();
    }
    err.to_string()
}

/// A history value as shown: an owner or team by its name (the value itself
/// is an id no one reads), and one since deleted as such.
fn history_value(field: &str, value: Option<String>, name: Option<String>) -> Option<String> {
    let what = match field {
        "ownerId" => "user",
        "teamId" => "team",
        _ => return value,
    };
    value.map(|_| name.unwrap_or_else(|| format!("a removed {what}")))
}

#[cfg(test)]
mod tests {
    use super::history_value;

    #[test]
    fn owners_and_teams_read_by_name() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            history_value("ownerId", some("VXNlcjoz"), some("ann")),
            some("ann")
        );
        assert_eq!(
            history_value("teamId", some("VGVhbToy"), None),
            some("a removed team")
        );
        assert_eq!(history_value("ownerId", None, None), None);
        assert_eq!(history_value("company", some("Acme"), None), some("Acme"));
    }
}
