//! Numbers, sizes and the job's facts as the screen words them.

use ratatui::text::Span;

use crate::components::status_line::Message;
use crate::model::{ImportJob, ImportStatus, grouped, short_time};
use crate::theme;

/// The status line's summary of a job that has just finished.
/// How a finished job is told on the status line.
pub fn finished_summary(job: &ImportJob) -> Message {
    if job.status == ImportStatus::Failed {
        let what = if job.dry_run { "Dry run" } else { "Import" };
        let why = job.error.as_deref().unwrap_or("see the screen");
        Message::error(format!("{what} of {} failed: {why}", job.file_name))
    } else if job.dry_run {
        Message::success(format!(
            "Dry run of {}: {}; nothing written.",
            job.file_name,
            job.counts()
        ))
    } else {
        Message::success(format!("Imported {}: {}.", job.file_name, job.counts()))
    }
}

pub(super) fn status_spans(job: &ImportJob) -> Vec<Span<'static>> {
    let style = match job.status {
        ImportStatus::Succeeded => theme::success(),
        ImportStatus::Failed => theme::error(),
        _ => Default::default(),
    };
    let mut spans = vec![Span::styled(job.status.label().to_owned(), style)];
    let when = match (&job.started_at, &job.finished_at) {
        (Some(started), Some(finished)) => {
            let (started, finished) = (short_time(started), short_time(finished));
            // The same day once: "2026-11-30 09:15 to 09:17".
            match (started.get(..10), finished.get(..10), finished.get(11..)) {
                (Some(a), Some(b), Some(time)) if a == b => format!("{started} to {time}"),
                _ => format!("{started} to {finished}"),
            }
        }
        (Some(started), None) => format!("started {}", short_time(started)),
        (None, Some(finished)) => format!("finished {}", short_time(finished)),
        (None, None) if job.status == ImportStatus::Uploading => {
            "the server is storing the file".to_owned()
        }
        (None, None) if job.status == ImportStatus::Queued => {
            "waiting for the server to take it up".to_owned()
        }
        (None, None) => String::new(),
    };
    if !when.is_empty() {
        spans.push(Span::styled(format!(" · {when}"), theme::dim()));
    }
    spans
}

fn count(n: i64, what: &str) -> String {
    format!("{} {what}", grouped(n))
}

pub(super) fn row_spans(job: &ImportJob) -> Vec<Span<'static>> {
    let failed = count(job.failed, "failed");
    vec![
        Span::raw(count(job.rows_read, "read")),
        Span::styled(" · ", theme::dim()),
        if job.failed > 0 {
            Span::styled(failed, theme::error())
        } else {
            Span::raw(failed)
        },
    ]
}

/// What the rows did to contacts; in a dry run, what they would do.
pub(super) fn change_spans(job: &ImportJob) -> Vec<Span<'static>> {
    vec![
        Span::raw(count(job.created, "created")),
        Span::styled(" · ", theme::dim()),
        Span::raw(count(job.updated, "updated")),
        Span::styled(" · ", theme::dim()),
        Span::raw(count(job.unchanged, "unchanged")),
    ]
}

pub(super) fn rows_heading(job: &ImportJob) -> String {
    let shown = job.failed_rows.len();
    let failed = job.failed;
    if failed <= 0 {
        return if job.is_finished() {
            "No failed rows.".to_owned()
        } else {
            "No failed rows so far.".to_owned()
        };
    }
    let so_far = if job.is_finished() { "" } else { " so far" };
    if i64::try_from(shown).is_ok_and(|shown| shown >= failed) {
        format!("Failed rows{so_far}: {}", grouped(failed))
    } else {
        format!(
            "Failed rows{so_far}: {}, the first {} shown",
            grouped(failed),
            grouped(i64::try_from(shown).unwrap_or(i64::MAX))
        )
    }
}

pub(super) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A file size as people read it: `512 B`, `29.3 KiB`, `1.2 MiB`.
pub(super) fn byte_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(byte_size(512), "512 B");
        assert_eq!(byte_size(30_000), "29.3 KiB");
        assert_eq!(byte_size(5 * 1024 * 1024), "5.0 MiB");
    }
}
