//! The keys of each stage, which of them the footer shows, and what they
//! ask the app to do beyond the screen.

use crossterm::event::KeyCode;

use super::{ImportScreen, Stage};
use crate::action::Action;
use crate::components::selection::{self, MoveWords};
use crate::components::status_line::Message;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};

impl ImportScreen {
    pub(super) fn handle_key(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Back => self.leave(),
            Action::StartImport | Action::SaveErrorReport => {
                let requests = self.update(action);
                if requests.is_empty() {
                    return Vec::new();
                }
                let doing = if *action == Action::StartImport {
                    "Uploading the file…"
                } else {
                    "Saving the failed rows…"
                };
                let mut effects = vec![Effect::Status(Message::info(doing))];
                effects.extend(sends(requests));
                effects
            }
            action => sends(self.update(action)),
        }
    }

    /// Leaving stops the watching, not the job; the status line says so.
    fn leave(&self) -> Vec<Effect> {
        let mut effects = vec![Effect::Close];
        if self.may_still_write() {
            effects.push(Effect::Status(Message::info(
                "The import goes on on the server; r reloads the list.",
            )));
            // Rows committed so far are already contacts.
            effects.push(Effect::ReloadList);
        } else if self.is_busy() {
            effects.push(Effect::Status(Message::info(
                "The dry run goes on on the server.",
            )));
        }
        effects
    }

    /// The keys of the current stage; `true` marks those the footer shows.
    pub(super) fn keyed_bindings(&self) -> Vec<(Binding, bool)> {
        let back =
            |description| Binding::new(&[Key::Code(KeyCode::Esc)], description, Action::Back);
        match &self.stage {
            Stage::Entry => vec![
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
                    Binding::new(&[Key::Ctrl('d')], "dry run on/off", Action::ToggleDryRun),
                    true,
                ),
                (back("cancel"), true),
                (
                    Binding::new(
                        &[Key::Code(KeyCode::Backspace)],
                        "delete a character",
                        Action::DeleteBackward,
                    ),
                    false,
                ),
                (
                    Binding::new(&[Key::Ctrl('u')], "clear the path", Action::ClearField),
                    false,
                ),
                (Binding::typing("type the CSV file's path"), false),
            ],
            Stage::Uploading => vec![(back("back to the contact list (the upload goes on)"), true)],
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
        let [Effect::Close, Effect::Status(message), Effect::ReloadList] = effects.as_slice()
        else {
            panic!("leaving a running import: {effects:?}");
        };
        assert_eq!(
            message.text,
            "The import goes on on the server; r reloads the list."
        );

        let mut dry = ImportScreen::new();
        dry.update(&Action::ToggleDryRun);
        started(&mut dry, "a.csv");
        let effects = dry.handle_key(&Action::Back);
        let [Effect::Close, Effect::Status(message)] = effects.as_slice() else {
            panic!("leaving a dry run writes nothing to reload: {effects:?}");
        };
        assert_eq!(message.text, "The dry run goes on on the server.");
    }

    #[test]
    fn starting_says_so_only_when_something_is_sent() {
        let mut screen = ImportScreen::new();
        assert!(screen.handle_key(&Action::StartImport).is_empty());
        screen.update(&Action::Insert('a'));
        let effects = screen.handle_key(&Action::StartImport);
        let [
            Effect::Status(message),
            Effect::Send(Request::StartImport { path, .. }),
        ] = effects.as_slice()
        else {
            panic!("Enter with a path uploads it: {effects:?}");
        };
        assert_eq!(message.text, "Uploading the file…");
        assert_eq!(path, "a");
    }
}
