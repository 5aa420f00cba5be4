//! What the server's answers (the upload, each poll, the report of the
//! failed rows) ask the app to do: the next poll, the status line, a
//! reload of the contact list once a real import has written rows.

use super::format::finished_summary;
use super::{ImportScreen, JobStep};
use crate::api::ApiError;
use crate::components::status_line::Message;
use crate::effect::Effect;
use crate::model::{ImportJob, SavedReport};

impl ImportScreen {
    /// Takes the upload's answer (see `upload_answered`).
    pub fn upload_effects(
        &mut self,
        attempt: u64,
        result: Result<Box<ImportJob>, ApiError>,
    ) -> Vec<Effect> {
        let step = self.upload_answered(attempt, result);
        let mut effects = Vec::new();
        if let (JobStep::Poll(_), Some(job)) = (&step, self.job()) {
            let what = if job.dry_run {
                "Dry run of"
            } else {
                "Importing"
            };
            effects.push(Effect::Status(Message::info(format!(
                "{what} {}…",
                job.file_name
            ))));
        }
        effects.extend(self.step_effects(step, "Import not started."));
        effects
    }

    /// Takes a poll's answer for the job this screen watches.
    pub fn job_effects(&mut self, result: Result<Option<Box<ImportJob>>, ApiError>) -> Vec<Effect> {
        let step = self.job_answered(result);
        self.step_effects(step, "Lost track of the import job; r reads it again.")
    }

    fn step_effects(&self, step: JobStep, failure: &str) -> Vec<Effect> {
        match step {
            JobStep::Ignored => Vec::new(),
            JobStep::Poll(request) => vec![Effect::Send(request)],
            JobStep::Finished => self.finished_effects(),
            JobStep::Failed(err) if err.is_connection_problem() => vec![Effect::Error(err)],
            JobStep::Failed(_) => vec![Effect::Status(Message::error(failure))],
        }
    }

    fn finished_effects(&self) -> Vec<Effect> {
        let Some(job) = self.job() else {
            return Vec::new();
        };
        let mut effects = vec![Effect::Status(finished_summary(job))];
        // A real import, even a failed one, may have committed rows.
        if !job.dry_run {
            effects.push(Effect::ReloadList);
        }
        effects
    }
}

/// The report's answer; it is written even when its screen was left
/// meanwhile, so the status line says where either way.
pub fn report_effects(result: Result<SavedReport, ApiError>) -> Vec<Effect> {
    match result {
        Ok(SavedReport {
            path,
            original_rows: true,
        }) => vec![Effect::Status(Message::success(format!(
            "Every failed row saved to {path}, as in the file plus line and reason: fix them there and import that file."
        )))],
        Ok(SavedReport {
            path,
            original_rows: false,
        }) => vec![Effect::Status(Message::info(format!(
            "The imported file is not where it was, so the server's report (line, column, reason) was saved to {path}."
        )))],
        Err(err) if err.is_connection_problem() => vec![Effect::Error(err)],
        Err(_) => vec![Effect::Status(Message::error("Failed rows not saved."))],
    }
}

/// The upload's answer once its screen was left: the job runs all the
/// same, and a real import will change the list.
pub fn upload_effects_after_leaving(result: &Result<Box<ImportJob>, ApiError>) -> Vec<Effect> {
    let Ok(job) = result else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    if !job.dry_run {
        effects.push(Effect::Status(Message::info(format!(
            "The import of {} runs on the server; r reloads the list.",
            job.file_name
        ))));
    }
    if !job.is_finished() {
        effects.push(Effect::WatchJob {
            id: job.id.clone(),
            poll_in_flight: false,
        });
    }
    effects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::import_screen::state::tests::{job, started};
    use crate::components::status_line::Tone;
    use crate::model::ImportStatus;
    use crate::request::Request;

    #[test]
    fn a_real_import_polls_then_summarises_and_reloads_the_list() {
        let mut screen = ImportScreen::new();
        let attempt = started(&mut screen, "a.csv");
        let effects = screen.upload_effects(attempt, Ok(job(ImportStatus::Queued, 0, 0)));
        let [
            Effect::Status(message),
            Effect::Send(Request::ImportJob { .. }),
        ] = effects.as_slice()
        else {
            panic!("a queued job is watched: {effects:?}");
        };
        assert_eq!(message.text, "Importing contacts.csv…");

        let effects = screen.job_effects(Ok(Some(job(ImportStatus::Succeeded, 0, 0))));
        let [Effect::Status(message), Effect::ReloadList] = effects.as_slice() else {
            panic!("a finished import: {effects:?}");
        };
        assert_eq!(message.tone, Tone::Success);
        assert!(message.text.starts_with("Imported contacts.csv: "));
    }

    #[test]
    fn a_lost_server_is_the_apps_to_show_and_other_failures_the_status_lines() {
        let mut screen = ImportScreen::new();
        let attempt = started(&mut screen, "a.csv");
        screen.upload_answered(attempt, Ok(job(ImportStatus::Running, 0, 0)));
        let effects = screen.job_effects(Err(ApiError::Unreachable("gone".to_owned())));
        assert!(matches!(
            effects.as_slice(),
            [Effect::Error(ApiError::Unreachable(_))]
        ));
        let effects = screen.job_effects(Err(ApiError::Server("boom".to_owned())));
        let [Effect::Status(message)] = effects.as_slice() else {
            panic!("a failed poll: {effects:?}");
        };
        assert_eq!(
            message.text,
            "Lost track of the import job; r reads it again."
        );

        assert!(matches!(
            report_effects(Err(ApiError::Unauthenticated)).as_slice(),
            [Effect::Error(ApiError::Unauthenticated)]
        ));
        assert!(upload_effects_after_leaving(&Err(ApiError::NotFound)).is_empty());
    }
}
