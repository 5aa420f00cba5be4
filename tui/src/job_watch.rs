//! Import jobs followed after their screen was left: the app polls them,
//! slowly, until they finish, then tells the user. A job reopened on an
//! import screen is that screen's again, and the app stops following it.

use std::time::Duration;

use crate::api::ApiError;
use crate::model::ImportJob;
use crate::request::{BACKGROUND_WATCH, Request};

/// How often a job nobody looks at is asked about: it only has to be
/// noticed when it ends.
pub const BACKGROUND_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct JobWatch {
    ids: Vec<String>,
}

/// What an answer about a followed job means.
#[derive(Debug, PartialEq, Eq)]
pub enum Followed {
    /// Not followed (any more): nothing to do.
    No,
    /// Still running, or the server could not say: ask again.
    Poll(Request),
    /// It has finished: tell the user.
    Finished(Box<ImportJob>),
}

impl JobWatch {
    /// Starts following `id`; returns the first poll unless the screen's
    /// last one is still out (its answer comes here).
    pub fn follow(&mut self, id: String, poll_in_flight: bool) -> Option<Request> {
        if self.ids.contains(&id) {
            return None;
        }
        self.ids.push(id.clone());
        (!poll_in_flight).then(|| poll(id))
    }

    /// A screen took the job over.
    pub fn forget(&mut self, id: &str) {
        self.ids.retain(|followed| followed != id);
    }

    pub fn follows(&self, id: &str) -> bool {
        self.ids.iter().any(|followed| followed == id)
    }

    pub fn answered(
        &mut self,
        id: &str,
        result: Result<Option<Box<ImportJob>>, ApiError>,
    ) -> Followed {
        if !self.follows(id) {
            return Followed::No;
        }
        match result {
            Ok(Some(job)) if job.is_finished() => {
                self.forget(id);
                Followed::Finished(job)
            }
            Ok(None) => {
                self.forget(id);
                Followed::No
            }
            // A passing error (the server restarting) must not lose the
            // job: it is asked again, as a running one is.
            Ok(Some(_)) | Err(_) => Followed::Poll(poll(id.to_owned())),
        }
    }
}

fn poll(id: String) -> Request {
    Request::ImportJob {
        id,
        after: BACKGROUND_POLL,
        error_rows: 0,
        watch: BACKGROUND_WATCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ImportStatus;

    fn job(status: ImportStatus, finished: bool) -> Result<Option<Box<ImportJob>>, ApiError> {
        Ok(Some(Box::new(ImportJob {
            id: "j1".to_owned(),
            status,
            file_name: "a.csv".to_owned(),
            dry_run: false,
            rows_read: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            failed: 0,
            bytes_done: 0,
            bytes_total: 0,
            error: None,
            ignored_columns: Vec::new(),
            failed_rows: Vec::new(),
            created_at: String::new(),
            started_at: None,
            finished_at: finished.then(String::new),
        })))
    }

    #[test]
    fn a_followed_job_is_polled_until_it_finishes_once() {
        let mut watch = JobWatch::default();
        assert!(
            watch.follow("j1".to_owned(), true).is_none(),
            "the screen's poll continues"
        );
        assert!(
            watch.follow("j1".to_owned(), false).is_none(),
            "followed once"
        );
        assert!(matches!(
            watch.answered("j1", job(ImportStatus::Running, false)),
            Followed::Poll(Request::ImportJob {
                after: BACKGROUND_POLL,
                ..
            })
        ));
        assert!(matches!(
            watch.answered("j1", Err(ApiError::Unreachable("down".to_owned()))),
            Followed::Poll(_)
        ));
        assert!(matches!(
            watch.answered("j1", job(ImportStatus::Succeeded, true)),
            Followed::Finished(_)
        ));
        assert_eq!(
            watch.answered("j1", job(ImportStatus::Succeeded, true)),
            Followed::No
        );

        assert!(watch.follow("j2".to_owned(), false).is_some());
        watch.forget("j2");
        assert_eq!(
            watch.answered("j2", job(ImportStatus::Running, false)),
            Followed::No
        );
    }
}
