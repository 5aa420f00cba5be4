//! What the app asks the network to do (a component asks with
//! `Effect::Send`). Each request runs in a tokio task of its own and ends
//! by sending exactly one `Action` back, so the UI thread never waits on
//! the network and `App` can count what is in flight.

use std::time::Duration;

use crate::action::Action;
use crate::api::ApiClient;
use crate::model::{
    ActivityKind, ContactField, FieldChoice, FieldPolicy, ListQuery, UserEdit, UserQuery,
};

/// How many rows one list request (contacts, activities, import jobs)
/// asks for.
pub const PAGE_SIZE: i64 = 50;

/// The `watch` of the polls the app sends itself for jobs whose screen
/// was left (an import screen's watch is never 0).
pub const BACKGROUND_WATCH: u64 = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Me,
    Contacts {
        generation: u64,
        query: ListQuery,
        after: Option<String>,
    },
    /// Wait `after`, then say that automatic reconnect `attempt` is due.
    /// A background wait: `App::settle` does not wait for it.
    RetryAfter {
        attempt: u32,
        after: Duration,
    },
    /// Wait `after`, then say so: a search is sent only once typing
    /// pauses this long (see `ContactList`).
    SearchPause {
        generation: u64,
        after: Duration,
    },
    Contact {
        id: String,
    },
    Activities {
        generation: u64,
        kind: Option<ActivityKind>,
        after: Option<String>,
    },
    Save(SaveRequest),
    Delete {
        id: String,
        name: String,
    },
    /// Undo merge `merge_id` into `survivor_id`, as long as the survivor
    /// is still at the version the user saw.
    UndoMerge {
        merge_id: String,
        survivor_id: String,
        expected_survivor_version: i64,
    },
    /// Read the header row of the CSV file at `path` (as typed), for the
    /// mapping step; nothing is sent.
    ReadHeader {
        attempt: u64,
        path: String,
    },
    /// Upload a CSV file and queue its import.
    StartImport {
        /// Which upload of which import screen this is; see
        /// `Action::ImportStarted`.
        attempt: u64,
        /// As typed; the task resolves it (`~`, quotes) and reads it.
        path: String,
        dry_run: bool,
        error_rows: i64,
        /// Columns not left to the server's header aliases: the field
        /// each feeds, `None` to ignore it.
        mapping: Vec<(String, Option<ContactField>)>,
    },
    /// Wait `after`, then read the import job. Polling is this request
    /// issued again by each answer until the job has finished.
    ImportJob {
        id: String,
        after: Duration,
        error_rows: i64,
        /// Whose poll this is: an import screen's `watch`, or
        /// `BACKGROUND_WATCH` for a job the app follows after its screen
        /// was left. Answers go back to the same watcher only, so two
        /// chains of polls never run for one job.
        watch: u64,
    },
    /// A page of the jobs screen.
    ImportJobs {
        generation: u64,
        after: Option<String>,
    },
    /// Write every failed row of the job to a CSV file beside the
    /// imported one.
    SaveErrorReport {
        id: String,
        /// The imported file's path, as typed.
        import_path: String,
    },

    // The admin screens'.
    /// A page of the users screen.
    Users {
        generation: u64,
        query: UserQuery,
        after: Option<String>,
    },
    /// A page of teams: the teams screen, the user form's choices.
    Teams {
        generation: u64,
        after: Option<String>,
    },
    CreateTeam {
        name: String,
    },
    /// Create a user, or change one (role, teams, active).
    SaveUser(UserEdit),
    /// A page of a user's tokens.
    Tokens {
        generation: u64,
        user_id: String,
        after: Option<String>,
    },
    IssueToken {
        user_id: String,
        label: Option<String>,
        /// RFC 3339; `None`: never expires.
        expires_at: Option<String>,
    },
    RevokeToken {
        id: String,
    },
    Integrations {
        generation: u64,
    },
    DisconnectIntegration {
        id: String,
    },
    /// Queue a failed or dead delivery again.
    Redeliver {
        delivery_id: String,
    },
    /// Every role's access to every field.
    FieldPolicies {
        generation: u64,
    },
    SetFieldPolicy(FieldPolicy),
}

/// How many users, teams or tokens one page asks for (the server's most).
pub const ADMIN_PAGE_SIZE: i64 = 100;

/// A save, kept whole so that confirming a merge re-sends exactly what was
/// previewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    pub target: SaveTarget,
    /// The fields to send; a blank value clears the field.
    pub changes: Vec<(ContactField, String)>,
    /// When the save merges: the fields the user chose to keep on a side
    /// other than the merge's own rule would (empty until they choose in
    /// the merge prompt). The preview shows them; the confirm applies them.
    pub choices: Vec<FieldChoice>,
    /// Set when confirming a merge: the survivor's version in the preview.
    pub confirm_survivor_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveTarget {
    Create,
    Update { id: String, expected_version: i64 },
}

impl Request {
    /// Waits that run while the user works and that nothing on screen is
    /// waiting for: `App::settle` returns without them.
    pub fn is_background(&self) -> bool {
        matches!(self, Request::RetryAfter { .. })
    }

    /// Runs the request; the answer, good or bad, is an action.
    pub async fn perform(self, api: ApiClient) -> Action {
        match self {
            Request::Me => Action::MeLoaded(api.me().await),
            Request::Contacts {
                generation,
                query,
                after,
            } => Action::ContactsLoaded {
                generation,
                result: api.contacts(&query, PAGE_SIZE, after).await,
            },
            Request::RetryAfter { attempt, after } => {
                tokio::time::sleep(after).await;
                Action::RetryDue {
                    attempt: u64::from(attempt),
                }
            }
            Request::SearchPause { generation, after } => {
                tokio::time::sleep(after).await;
                Action::SearchPaused { generation }
            }
            Request::Contact { id } => {
                let result = api.contact(&id).await.map(|found| found.map(Box::new));
                Action::ContactLoaded { id, result }
            }
            Request::Activities {
                generation,
                kind,
                after,
            } => Action::ActivitiesLoaded {
                generation,
                result: api.activities(kind, PAGE_SIZE, after).await,
            },
            Request::Save(request) => {
                let result = match &request.target {
                    SaveTarget::Create => {
                        api.create(
                            &request.changes,
                            &request.choices,
                            request.confirm_survivor_version,
                        )
                        .await
                    }
                    SaveTarget::Update {
                        id,
                        expected_version,
                    } => {
                        api.update(
                            id,
                            *expected_version,
                            &request.changes,
                            &request.choices,
                            request.confirm_survivor_version,
                        )
                        .await
                    }
                };
                Action::Saved { request, result }
            }
            Request::Delete { id, name } => {
                let result = api.delete(&id).await;
                Action::Deleted { id, name, result }
            }
            Request::UndoMerge {
                merge_id,
                survivor_id,
                expected_survivor_version,
            } => {
                let result = api
                    .undo_merge(&merge_id, Some(expected_survivor_version))
                    .await
                    .map(Box::new);
                Action::MergeUndone {
                    merge_id,
                    survivor_id,
                    result,
                }
            }
            Request::ReadHeader { attempt, path } => Action::HeaderRead {
                attempt,
                result: crate::api::read_header(&path).await,
            },
            Request::StartImport {
                attempt,
                path,
                dry_run,
                error_rows,
                mapping,
            } => Action::ImportStarted {
                attempt,
                result: api
                    .import_contacts(&path, dry_run, error_rows, &mapping)
                    .await
                    .map(Box::new),
            },
            Request::ImportJob {
                id,
                after,
                error_rows,
                watch,
            } => {
                if !after.is_zero() {
                    tokio::time::sleep(after).await;
                }
                let result = api
                    .import_job(&id, error_rows)
                    .await
                    .map(|found| found.map(Box::new));
                Action::ImportJobLoaded { id, watch, result }
            }
            Request::ImportJobs { generation, after } => Action::ImportJobsLoaded {
                generation,
                result: api.import_jobs(PAGE_SIZE, after).await,
            },
            Request::SaveErrorReport { id, import_path } => {
                let result = api.save_error_report(&id, &import_path).await;
                Action::ErrorReportSaved { id, result }
            }
            Request::Users {
                generation,
                query,
                after,
            } => Action::UsersLoaded {
                generation,
                result: api.users(&query, ADMIN_PAGE_SIZE, after).await,
            },
            Request::Teams { generation, after } => Action::TeamsLoaded {
                generation,
                result: api.teams(ADMIN_PAGE_SIZE, after).await,
            },
            Request::CreateTeam { name } => {
                let result = api.create_team(&name).await;
                Action::TeamCreated { name, result }
            }
            Request::SaveUser(edit) => {
                let result = api.save_user(&edit).await.map(Box::new);
                Action::UserSaved { edit, result }
            }
            Request::Tokens {
                generation,
                user_id,
                after,
            } => Action::TokensLoaded {
                generation,
                result: api.tokens(&user_id, ADMIN_PAGE_SIZE, after).await,
            },
            Request::IssueToken {
                user_id,
                label,
                expires_at,
            } => {
                let result = api
                    .issue_token(&user_id, label, expires_at)
                    .await
                    .map(Box::new);
                Action::TokenIssued { user_id, result }
            }
            Request::RevokeToken { id } => {
                let result = api.revoke_token(&id).await.map(Box::new);
                Action::TokenRevoked { id, result }
            }
            Request::Integrations { generation } => Action::IntegrationsLoaded {
                generation,
                result: api.integrations().await,
            },
            Request::DisconnectIntegration { id } => {
                let result = api.disconnect_integration(&id).await;
                Action::IntegrationDisconnected { id, result }
            }
            Request::Redeliver { delivery_id } => {
                let result = api.redeliver(&delivery_id).await.map(Box::new);
                Action::Redelivered {
                    delivery_id,
                    result,
                }
            }
            Request::FieldPolicies { generation } => Action::FieldPoliciesLoaded {
                generation,
                result: api.field_policies().await,
            },
            Request::SetFieldPolicy(asked) => {
                let result = api.set_field_policy(&asked).await;
                Action::FieldPolicySet { asked, result }
            }
        }
    }
}
