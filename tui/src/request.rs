//! What the app asks the network to do (a component asks with
//! `Effect::Send`). Each request runs in a tokio task of its own and ends
//! by sending exactly one `Action` back, so the UI thread never waits on
//! the network and `App` can count what is in flight.

use std::time::Duration;

use crate::action::Action;
use crate::api::ApiClient;
use crate::model::{ActivityKind, ContactField, ListQuery};

/// How many rows one list request (contacts or activities) asks for.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Me,
    Contacts {
        generation: u64,
        query: ListQuery,
        after: Option<String>,
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
    /// Upload a CSV file and queue its import.
    StartImport {
        /// Which upload of which import screen this is; see
        /// `Action::ImportStarted`.
        attempt: u64,
        /// As typed; the task resolves it (`~`, quotes) and reads it.
        path: String,
        dry_run: bool,
        error_rows: i64,
    },
    /// Wait `after`, then read the import job. Polling is this request
    /// issued again by each answer until the job has finished.
    ImportJob {
        id: String,
        after: Duration,
        error_rows: i64,
    },
    /// Write every failed row of the job to a CSV file beside the
    /// imported one.
    SaveErrorReport {
        id: String,
        /// The imported file's path, as typed.
        import_path: String,
    },
}

/// A save, kept whole so that confirming a merge re-sends exactly what was
/// previewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    pub target: SaveTarget,
    /// The fields to send; a blank value clears the field.
    pub changes: Vec<(ContactField, String)>,
    /// Set when confirming a merge: the survivor's version in the preview.
    pub confirm_survivor_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveTarget {
    Create,
    Update { id: String, expected_version: i64 },
}

impl Request {
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
                        api.create(&request.changes, request.confirm_survivor_version)
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
            Request::StartImport {
                attempt,
                path,
                dry_run,
                error_rows,
            } => Action::ImportStarted {
                attempt,
                result: api
                    .import_contacts(&path, dry_run, error_rows)
                    .await
                    .map(Box::new),
            },
            Request::ImportJob {
                id,
                after,
                error_rows,
            } => {
                if !after.is_zero() {
                    tokio::time::sleep(after).await;
                }
                let result = api
                    .import_job(&id, error_rows)
                    .await
                    .map(|found| found.map(Box::new));
                Action::ImportJobLoaded { id, result }
            }
            Request::SaveErrorReport { id, import_path } => {
                let result = api
                    .save_error_report(&id, &import_path)
                    .await
                    .map(|path| path.display().to_string());
                Action::ErrorReportSaved { id, result }
            }
        }
    }
}
