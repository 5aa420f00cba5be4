//! What keys and answers change: the path being typed, the upload, the
//! polls of the job and the report of its failed rows.

use std::time::Duration;

use super::mapping::MappingStep;
use super::next_attempt;
use super::{ALL_ERROR_ROWS, ImportScreen, JobStep, LIVE_ERROR_ROWS, POLL_INTERVAL, Stage};
use crate::action::Action;
use crate::api::ApiError;
use crate::components::text_input::Edit;
use crate::model::{ImportJob, SavedReport};
use crate::request::Request;

/// Rows PgUp/PgDn move over the failed rows: the table has less room than
/// the other lists.
const PAGE_STEP: usize = 10;

impl ImportScreen {
    pub fn update(&mut self, action: &Action) -> Vec<Request> {
        match &self.stage {
            Stage::Entry => match action {
                action if self.path.apply(action) != Edit::NotMine => self.problem = None,
                Action::ToggleDryRun => self.dry_run = !self.dry_run,
                Action::StartImport => return self.read_header().into_iter().collect(),
                _ => {}
            },
            Stage::Reading => {
                if *action == Action::Cancel {
                    self.stage = Stage::Entry;
                }
            }
            Stage::Mapping(_) => match action {
                Action::ToggleDryRun => self.dry_run = !self.dry_run,
                Action::StartImport => return self.start().into_iter().collect(),
                Action::Cancel => self.stage = Stage::Entry,
                action => {
                    if let Stage::Mapping(step) = &mut self.stage {
                        step.apply(action);
                    }
                }
            },
            Stage::Uploading => {}
            Stage::Job(job) => {
                let finished = job.is_finished();
                if self
                    .selected
                    .apply(action, job.failed_rows.len(), PAGE_STEP)
                {
                    return Vec::new();
                }
                match action {
                    Action::NewImport if finished => {
                        self.stage = Stage::Entry;
                        self.problem = None;
                        self.selected.reset();
                        self.saved_report = None;
                        // Answers still out are for the old job and will
                        // be dropped.
                        self.polling = false;
                        self.saving_report = false;
                    }
                    Action::SaveErrorReport
                        if finished && job.failed > 0 && !self.saving_report =>
                    {
                        let request = Request::SaveErrorReport {
                            id: job.id.clone(),
                            import_path: self.path.value().to_owned(),
                        };
                        self.saving_report = true;
                        self.problem = None;
                        return vec![request];
                    }
                    Action::Reload => return self.reload().into_iter().collect(),
                    _ => {}
                }
            }
        }
        Vec::new()
    }

    /// Enter on the path: the header is read for the mapping step.
    fn read_header(&mut self) -> Option<Request> {
        if self.path.value().trim().is_empty() {
            self.problem = Some("Type the path of a CSV file first.".to_owned());
            return None;
        }
        self.attempt = next_attempt();
        self.stage = Stage::Reading;
        self.problem = None;
        Some(Request::ReadHeader {
            attempt: self.attempt,
            path: self.path.value().to_owned(),
        })
    }

    /// Takes the header read for the mapping step.
    pub fn header_answered(&mut self, attempt: u64, result: Result<Vec<String>, ApiError>) {
        if !self.awaits_header(attempt) {
            return;
        }
        match result {
            Ok(headers) => {
                // The same file again (after a refused upload): the
                // choices made for it stay.
                let step = match self.kept_mapping.take() {
                    Some(kept) if kept.headers_are(&headers) => kept,
                    _ => MappingStep::new(headers),
                };
                self.stage = Stage::Mapping(step);
            }
            Err(err) => {
                self.stage = Stage::Entry;
                self.problem = Some(match err {
                    ApiError::File(reason) => reason,
                    other => other.to_string(),
                });
            }
        }
    }

    /// Enter on the mapping step: the upload, with the columns mapped.
    fn start(&mut self) -> Option<Request> {
        let mapping = match &self.stage {
            Stage::Mapping(step) => step.mapping(),
            _ => Vec::new(),
        };
        if let Stage::Mapping(step) = &self.stage {
            self.kept_mapping = Some(step.clone());
        }
        self.attempt = next_attempt();
        self.stage = Stage::Uploading;
        self.problem = None;
        self.selected.reset();
        self.asked_rows = LIVE_ERROR_ROWS;
        Some(Request::StartImport {
            attempt: self.attempt,
            path: self.path.value().to_owned(),
            dry_run: self.dry_run,
            error_rows: LIVE_ERROR_ROWS,
            mapping,
        })
    }

    /// Asks about the job again at once, unless a poll is under way: for
    /// `r` after a failed poll, and for the app after the server came back.
    pub fn reload(&mut self) -> Option<Request> {
        let finished = self.job()?.is_finished();
        if self.polling {
            return None;
        }
        let rows = if finished {
            ALL_ERROR_ROWS
        } else {
            LIVE_ERROR_ROWS
        };
        self.poll(Duration::ZERO, rows)
    }

    pub(super) fn poll(&mut self, after: Duration, error_rows: i64) -> Option<Request> {
        let id = self.job()?.id.clone();
        self.polling = true;
        self.asked_rows = error_rows;
        Some(Request::ImportJob {
            id,
            after,
            error_rows,
            watch: self.watch,
        })
    }

    /// Takes the upload's answer (the queued job, or why there is none).
    pub fn upload_answered(
        &mut self,
        attempt: u64,
        result: Result<Box<ImportJob>, ApiError>,
    ) -> JobStep {
        if !self.awaits_upload(attempt) {
            return JobStep::Ignored;
        }
        match result {
            Ok(job) => self.take_job(job),
            Err(err) => {
                self.stage = Stage::Entry;
                self.problem = Some(match &err {
                    ApiError::File(reason) => reason.clone(),
                    other => format!("Not started: {other}"),
                });
                JobStep::Failed(err)
            }
        }
    }

    /// Takes the answer to `w`; hands it back for the status line.
    pub fn report_answered(
        &mut self,
        result: Result<SavedReport, ApiError>,
    ) -> Result<SavedReport, ApiError> {
        self.saving_report = false;
        match &result {
            Ok(saved) => self.saved_report = Some(saved.path.clone()),
            Err(ApiError::File(reason)) => self.problem = Some(reason.clone()),
            Err(err) => self.problem = Some(format!("Could not read the failed rows: {err}")),
        }
        result
    }

    /// Takes a poll's answer for the job this screen watches.
    pub fn job_answered(&mut self, result: Result<Option<Box<ImportJob>>, ApiError>) -> JobStep {
        self.polling = false;
        match result {
            Ok(Some(job)) => self.take_job(job),
            Ok(None) => {
                self.problem = Some("The server no longer knows this import job.".to_owned());
                JobStep::Failed(ApiError::NotFound)
            }
            Err(err) => {
                self.problem = Some(format!("Could not read the import job: {err}"));
                JobStep::Failed(err)
            }
        }
    }

    fn take_job(&mut self, job: Box<ImportJob>) -> JobStep {
        let finished = job.is_finished();
        let rows_missing = usize::try_from(job.failed)
            .is_ok_and(|failed| failed > job.failed_rows.len())
            && self.asked_rows < ALL_ERROR_ROWS;
        self.selected.clamp(job.failed_rows.len());
        self.stage = Stage::Job(job);
        self.problem = None;
        let next = if !finished {
            self.poll(POLL_INTERVAL, LIVE_ERROR_ROWS)
        } else if rows_missing {
            // Finished, but the live polls read only the first rows: one
            // more read for the whole list before the summary.
            self.poll(Duration::ZERO, ALL_ERROR_ROWS)
        } else {
            None
        };
        match next {
            Some(request) => JobStep::Poll(request),
            None => JobStep::Finished,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::components::Component;
    use crate::keymap::Key;
    use crate::model::{ImportRowError, ImportStatus};

    pub(in crate::components::import_screen) fn job(
        status: ImportStatus,
        failed: i64,
        rows: usize,
    ) -> Box<ImportJob> {
        Box::new(ImportJob {
            id: "job-1".to_owned(),
            status,
            file_name: "contacts.csv".to_owned(),
            dry_run: false,
            rows_read: 10,
            created: 10 - failed,
            updated: 0,
            unchanged: 0,
            failed,
            bytes_done: 50,
            bytes_total: 100,
            error: None,
            ignored_columns: Vec::new(),
            failed_rows: (0..rows)
                .map(|i| ImportRowError {
                    line: i64::try_from(i).unwrap_or(0) + 2,
                    column: None,
                    reason: "bad".to_owned(),
                })
                .collect(),
            created_at: "2026-11-30T09:15:00Z".to_owned(),
            started_at: None,
            finished_at: None,
        })
    }

    pub(in crate::components::import_screen) fn started(
        screen: &mut ImportScreen,
        path: &str,
    ) -> u64 {
        for c in path.chars() {
            screen.update(&Action::Insert(c));
        }
        mapped_and_started(screen)
    }

    /// Enter on the path, the header read, Enter on the mapping step.
    pub(in crate::components::import_screen) fn mapped_and_started(
        screen: &mut ImportScreen,
    ) -> u64 {
        let attempt = match screen.update(&Action::StartImport).as_slice() {
            [Request::ReadHeader { attempt, .. }] => *attempt,
            other => panic!("Enter reads the header: {other:?}"),
        };
        screen.header_answered(attempt, Ok(vec!["Email".to_owned()]));
        assert!(screen.mapping_step().is_some(), "the mapping step");
        match screen.update(&Action::StartImport).as_slice() {
            [Request::StartImport { attempt, .. }] => *attempt,
            other => panic!("Enter starts an upload: {other:?}"),
        }
    }

    #[test]
    fn an_empty_path_asks_for_one_and_sends_nothing() {
        let mut screen = ImportScreen::new();
        screen.update(&Action::Insert(' '));
        assert!(screen.update(&Action::StartImport).is_empty());
        assert!(screen.problem().is_some());
        screen.update(&Action::Insert('a'));
        assert_eq!(screen.problem(), None, "typing clears the complaint");
    }

    #[test]
    fn polls_until_finished_then_reads_every_failed_row_once() {
        let mut screen = ImportScreen::new();
        screen.update(&Action::ToggleDryRun);
        let attempt = started(&mut screen, "a.csv");
        assert!(screen.is_uploading());
        assert_eq!(
            screen.upload_answered(attempt + 1000, Ok(job(ImportStatus::Queued, 0, 0))),
            JobStep::Ignored,
            "another upload's answer"
        );

        let step = screen.upload_answered(attempt, Ok(job(ImportStatus::Queued, 0, 0)));
        assert_eq!(
            step,
            JobStep::Poll(Request::ImportJob {
                id: "job-1".to_owned(),
                after: POLL_INTERVAL,
                error_rows: LIVE_ERROR_ROWS,
                watch: screen.watch,
            })
        );
        assert!(screen.reload().is_none(), "one poll at a time");

        let step = screen.job_answered(Ok(Some(job(ImportStatus::Running, 30, 20))));
        assert!(matches!(step, JobStep::Poll(_)));

        // Finished with more failed rows than the live polls read.
        let step = screen.job_answered(Ok(Some(job(ImportStatus::Succeeded, 30, 20))));
        assert_eq!(
            step,
            JobStep::Poll(Request::ImportJob {
                id: "job-1".to_owned(),
                after: Duration::ZERO,
                error_rows: ALL_ERROR_ROWS,
                watch: screen.watch,
            })
        );
        let step = screen.job_answered(Ok(Some(job(ImportStatus::Succeeded, 30, 30))));
        assert_eq!(step, JobStep::Finished);

        screen.update(&Action::Bottom);
        assert_eq!(screen.selected_row().map(|row| row.line), Some(31));
        screen.update(&Action::NewImport);
        assert_eq!(screen.job(), None);
        assert_eq!(screen.path(), "a.csv", "the path stays for a real run");
        assert!(screen.dry_run());
    }

    #[test]
    fn a_failed_upload_goes_back_to_the_path_and_a_failed_poll_stops() {
        let mut screen = ImportScreen::new();
        let attempt = started(&mut screen, "missing.csv");
        let step = screen.upload_answered(
            attempt,
            Err(ApiError::File(
                "Cannot read missing.csv: no such file.".to_owned(),
            )),
        );
        assert!(matches!(step, JobStep::Failed(ApiError::File(_))));
        assert!(!screen.is_uploading());
        assert_eq!(
            screen.problem(),
            Some("Cannot read missing.csv: no such file.")
        );

        let attempt = mapped_and_started(&mut screen);
        screen.upload_answered(attempt, Ok(job(ImportStatus::Running, 0, 0)));
        assert!(screen.may_still_write());
        let step = screen.job_answered(Err(ApiError::Server("boom".to_owned())));
        assert!(matches!(step, JobStep::Failed(_)));
        assert!(screen.problem().is_some());
        assert!(
            screen
                .bindings()
                .iter()
                .any(|binding| binding.keys.contains(&Key::Char('r'))),
            "r asks again"
        );
        assert!(matches!(
            screen.update(&Action::Reload).as_slice(),
            [Request::ImportJob { .. }]
        ));
    }
}
