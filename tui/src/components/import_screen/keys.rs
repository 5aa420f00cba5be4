//! The keys of each stage, which of them the footer shows, and what they
//! ask the app to do beyond the screen.

use crossterm::event::KeyCode;

use super::{ImportScreen, Stage};
use crate::action::Action;
use crate::components::selection::{self, MoveWords};
use crate::components::status_line::Message;
use crate::components::text_input;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::request::Request;

impl ImportScreen {
    pub(super) fn handle_key(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Back => self.leave(),
            Action::StartImport | Action::SaveErrorReport => {
                let requests = self.update(action);
                let doing = match requests.first() {
                    Some(Request::StartImport { .. }) => "Uploading the file…",
                    Some(Request::SaveErrorReport { .. }) => "Saving the failed rows…",
                    _ => return sends(requests),
                };
                let mut effects = vec![Effect::Status(Message::info(doing))];
                effects.extend(sends(requests));
                effects
            }
            action => sends(self.update(action)),
        }
    }

    /// Leaving stops the screen's watching, not the job: the app follows
    /// a running one in the background and says when it has finished.
    fn leave(&self) -> Vec<Effect> {
        let mut effects = vec![Effect::Close];
        if let Some(job) = self.job().filter(|job| !job.is_finished()) {
            effects.push(Effect::WatchJob {
                id: job.id.clone(),
                poll_in_flight: self.polling,
            });
        }
        if self.may_still_write() {
            effects.push(Effect::Status(Message::info(
                "The import goes on on the server; you are told when it ends.",
            )));
            // Rows committed so far are already contacts.
            effects.push(Effect::ReloadList);
        } else if self.is_busy() {
            effects.push(Effect::Status(Message::info(
                "The dry run goes on on the server; you are told when it ends.",
            )));
        }
        effects
    }

    /// The keys of the current stage; `true` marks those the footer shows.
    pub(super) fn keyed_bindings(&self) -> Vec<(Binding, bool)> {
        let back =
            |description| Binding::new(&[Key::Code(KeyCode::Esc)], description, Action::Back);
        let to_path = || {
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                "back to the path",
                Action::Cancel,
            )
        };
        match &self.stage {
            Stage::Entry => vec![
                (
                    Binding::new(
                        &[Key::Code(KeyCode::Enter)],
                        "map the file's columns",
                        Action::StartImport,
                    ),
                    true,
                ),
                (
                    Binding::new(&[Key::Ctrl('d')], "dry run on/off", Action::ToggleDryRun),
                    true,
                ),
                (back("cancel"), true),
            ]
            .into_iter()
            .chain(
                text_input::bindings("clear the path")
                    .into_iter()
                    .chain([Binding::typing("type the CSV file's path")])
                    .map(|binding| (binding, false)),
            )
            .collect(),
            Stage::Reading => vec![(to_path(), true)],
            Stage::Mapping(_) => {
                let mut bindings = vec![
                    (
                        Binding::new(
                            &[Key::Code(KeyCode::Enter)],
                            if self.dry_run {
                                "start the dry run"
                            } else {
                                "start the import"
                            },
                            Action::StartImport,
                        ),
                        true,
                    ),
                    (
                        Binding::new(
                            &[Key::Code(KeyCode::Right), Key::Char(' ')],
                            "the column feeds the next field",
                            Action::NextChoice,
                        ),
                        true,
                    ),
                    (
                        Binding::new(
                            &[Key::Code(KeyCode::Left)],
                            "the column feeds the previous field",
                            Action::PreviousChoice,
                        ),
                        false,
                    ),
                    (
                        Binding::new(&[Key::Ctrl('d')], "dry run on/off", Action::ToggleDryRun),
                        true,
                    ),
                    (to_path(), true),
                ];
                bindings.extend(
                    selection::bindings(MoveWords {
                        next: "next column",
                        previous: "previous column",
                        first: "first column",
                        last: "last column",
                    })
                    .into_iter()
                    .map(|binding| (binding, false)),
                );
                bindings
            }
            Stage::Uploading => vec![(
                Binding::new(
                    &[Key::Code(KeyCode::Esc), Key::Char('q')],
                    "back to the contact list (the upload goes on)",
                    Action::Back,
                ),
                true,
            )],
            Stage::Job(job) => {
                let finished = job.is_finished();
                let mut bindings: Vec<(Binding, bool)> = selection::bindings(MoveWords {
                    next: "next failed row",
                    previous: "previous failed row",
                    first: "first failed row",
                    last: "last failed row",
                })
                .into_iter()
                .map(|binding| (binding, false))
                .collect();
                if finished && job.failed > 0 && !self.saving_report {
                    bindings.push((
                        Binding::new(
                            &[Key::Char('w')],
                            "save every failed row as CSV, beside the imported file",
                            Action::SaveErrorReport,
                        ),
                        false,
                    ));
                }
                if finished {
                    bindings.push((
                        Binding::new(&[Key::Char('n')], "another import", Action::NewImport),
                        true,
                    ));
                }
                if !self.polling {
                    bindings.push((
                        Binding::new(&[Key::Char('r')], "read the job again", Action::Reload),
                        self.problem.is_some(),
                    ));
                }
                bindings.push((
                    Binding::new(
                        &[
                            Key::Code(KeyCode::Esc),
                            Key::Char('q'),
                            Key::Code(KeyCode::Left),
                        ],
                        if finished {
                            "back to the contact list"
                        } else {
                            "back to the contact list (the import goes on)"
                        },
                        Action::Back,
                    ),
                    true,
                ));
                bindings
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::import_screen::state::tests::{job, started};
    use crate::model::ImportStatus;
    use crate::request::Request;

    #[test]
    fn leaving_says_what_goes_on_and_reloads_after_a_real_import() {
        let mut screen = ImportScreen::new();
        assert!(matches!(
            screen.handle_key(&Action::Back).as_slice(),
            [Effect::Close]
        ));

        let attempt = started(&mut screen, "a.csv");
        screen.upload_answered(attempt, Ok(job(ImportStatus::Running, 0, 0)));
        let effects = screen.handle_key(&Action::Back);
        let [
            Effect::Close,
            Effect::WatchJob { id, .. },
            Effect::Status(message),
            Effect::ReloadList,
        ] = effects.as_slice()
        else {
            panic!("leaving a running import: {effects:?}");
        };
        assert_eq!(id, "job-1", "the app follows it in the background");
        assert_eq!(
            message.text,
            "The import goes on on the server; you are told when it ends."
        );

        let mut dry = ImportScreen::new();
        dry.update(&Action::ToggleDryRun);
        started(&mut dry, "a.csv");
        let effects = dry.handle_key(&Action::Back);
        let [Effect::Close, Effect::Status(message)] = effects.as_slice() else {
            panic!("leaving a dry run writes nothing to reload: {effects:?}");
        };
        assert_eq!(
            message.text,
            "The dry run goes on on the server; you are told when it ends."
        );
    }

    #[test]
    fn starting_says_so_only_when_something_is_sent() {
        let mut screen = ImportScreen::new();
        assert!(screen.handle_key(&Action::StartImport).is_empty());
        screen.update(&Action::Insert('a'));
        let effects = screen.handle_key(&Action::StartImport);
        let [Effect::Send(Request::ReadHeader { attempt, path })] = effects.as_slice() else {
            panic!("Enter with a path reads its header: {effects:?}");
        };
        assert_eq!(path, "a");
        screen.header_answered(*attempt, Ok(vec!["Email".to_owned()]));
        let effects = screen.handle_key(&Action::StartImport);
        let [
            Effect::Status(message),
            Effect::Send(Request::StartImport { path, .. }),
        ] = effects.as_slice()
        else {
            panic!("Enter on the mapping step uploads it: {effects:?}");
        };
        assert_eq!(message.text, "Uploading the file…");
        assert_eq!(path, "a");
    }
}
