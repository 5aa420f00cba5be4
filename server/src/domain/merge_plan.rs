//! The Merge Contacts rule of the seed, field by field:
//! - incoming fills a blank (FILLED),
//! - incoming replaces a different value (OVERWRITTEN, shown before it is
//!   confirmed),
//! - a value the incoming side leaves empty is kept (RETAINED): empty never
//!   clears,
//! - equal or both empty (UNCHANGED).
//!
//! The caller may choose a field's side before confirming (`Choices`): the
//! survivor's value kept against an incoming one shows RETAINED. Choosing
//! the incoming side is the rule itself, so empty still never clears.

use super::contact::ContactFields;
use super::field_policy::FieldRights;
use super::validation::ValidationError;

/// Which side of a merge a field's value comes from, as chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Survivor,
    Incoming,
}

/// The sides a caller chose, by field (`ContactInput`'s names); a field
/// not named follows the rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices(Vec<(&'static str, Side)>);

impl Choices {
    /// Each field at most once, and only the fields a merge decides.
    pub fn new(
        chosen: impl IntoIterator<Item = (&'static str, Side)>,
    ) -> Result<Self, ValidationError> {
        let mut list: Vec<(&'static str, Side)> = Vec::new();
        for (field, side) in chosen {
            // The fields a merge decides are a contact's own.
            let merged = ContactFields::default()
                .named_values()
                .map(|(name, _)| name);
            if !merged.contains(&field) {
                return Err(ValidationError::new(
                    "choices",
                    format!("{field} is not merged; only a contact's own fields are"),
                ));
            }
            if list.iter().any(|(f, _)| *f == field) {
                return Err(ValidationError::new(
                    "choices",
                    format!("{field} is chosen twice"),
                ));
            }
            list.push((field, side));
        }
        Ok(Self(list))
    }

    fn side(&self, field: &str) -> Option<Side> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, side)| *side)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeOutcome {
    Filled,
    Overwritten,
    Retained,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMerge {
    pub field: &'static str,
    pub current: Option<String>,
    pub incoming: Option<String>,
    pub outcome: MergeOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// The survivor's fields once the merge is done.
    pub result: ContactFields,
    /// Every field, in the API's order.
    pub fields: Vec<FieldMerge>,
}

impl MergePlan {
    /// The first field this plan fills or overwrites on the survivor that
    /// `rights` may not write: a merge writes the survivor's fields as an
    /// edit does, so the same policies hold (keeping the survivor's side
    /// of such a field, by a choice, writes nothing).
    pub fn unwritable_change(&self, rights: &FieldRights) -> Option<&'static str> {
        self.fields
            .iter()
            .find(|field| {
                matches!(
                    field.outcome,
                    MergeOutcome::Filled | MergeOutcome::Overwritten
                ) && !rights.may_write_named(field.field)
            })
            .map(|field| field.field)
    }
}

fn outcome<T: PartialEq>(current: &Option<T>, incoming: &Option<T>) -> MergeOutcome {
    match (current, incoming) {
        (_, None) if current.is_some() => MergeOutcome::Retained,
        (_, None) => MergeOutcome::Unchanged,
        (None, Some(_)) => MergeOutcome::Filled,
        (Some(c), Some(i)) if c == i => MergeOutcome::Unchanged,
        (Some(_), Some(_)) => MergeOutcome::Overwritten,
    }
}

/// The survivor's value is kept by choice against a different incoming one.
fn kept_by_choice<T: PartialEq>(
    current: &Option<T>,
    incoming: &Option<T>,
    side: Option<Side>,
) -> bool {
    side == Some(Side::Survivor) && incoming.is_some() && incoming != current
}

fn merged<T: Clone + PartialEq>(
    current: &Option<T>,
    incoming: &Option<T>,
    side: Option<Side>,
) -> Option<T> {
    if kept_by_choice(current, incoming, side) {
        return current.clone();
    }
    incoming.clone().or_else(|| current.clone())
}

/// Merges `incoming` into `current`, the survivor's fields, by the rule.
pub fn plan(current: &ContactFields, incoming: &ContactFields) -> MergePlan {
    plan_with(current, incoming, &Choices::default())
}

/// Merges `incoming` into `current` with the sides the caller chose.
pub fn plan_with(
    current: &ContactFields,
    incoming: &ContactFields,
    choices: &Choices,
) -> MergePlan {
    let result = ContactFields {
        first_name: merged(
            &current.first_name,
            &incoming.first_name,
            choices.side("firstName"),
        ),
        last_name: merged(
            &current.last_name,
            &incoming.last_name,
            choices.side("lastName"),
        ),
        email: merged(&current.email, &incoming.email, choices.side("email")),
        mobile_phone: merged(
            &current.mobile_phone,
            &incoming.mobile_phone,
            choices.side("mobilePhone"),
        ),
        company: merged(&current.company, &incoming.company, choices.side("company")),
        job_title: merged(
            &current.job_title,
            &incoming.job_title,
            choices.side("jobTitle"),
        ),
        timezone: merged(
            &current.timezone,
            &incoming.timezone,
            choices.side("timezone"),
        ),
    };
    let fields = current
        .named_values()
        .into_iter()
        .zip(incoming.named_values())
        .map(|((field, current), (_, incoming))| FieldMerge {
            field,
            current: current.map(str::to_owned),
            incoming: incoming.map(str::to_owned),
            outcome: if kept_by_choice(&current, &incoming, choices.side(field)) {
                MergeOutcome::Retained
            } else {
                outcome(&current, &incoming)
            },
        })
        .collect();
    MergePlan { result, fields }
}

/// What undoing a merge does to its survivor (DESIGN.md section 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmerge {
    /// The survivor's fields once the merge is undone.
    pub result: ContactFields,
    /// Fields the merge filled or overwrote that were edited since: they
    /// keep the later value.
    pub kept: Vec<&'static str>,
}

/// Each field the merge changed goes back from `after` (what the merge
/// left) to `before`, unless `current` differs from `after`: someone edited
/// it since, and their value stays. Fields the merge did not change stay as
/// they are now.
pub fn unmerge(before: &ContactFields, after: &ContactFields, current: &ContactFields) -> Unmerge {
    let mut kept = Vec::new();
    let result = ContactFields {
        first_name: back(
            "firstName",
            &before.first_name,
            &after.first_name,
            &current.first_name,
            &mut kept,
        ),
        last_name: back(
            "lastName",
            &before.last_name,
            &after.last_name,
            &current.last_name,
            &mut kept,
        ),
        email: back(
            "email",
            &before.email,
            &after.email,
            &current.email,
            &mut kept,
        ),
        mobile_phone: back(
            "mobilePhone",
            &before.mobile_phone,
            &after.mobile_phone,
            &current.mobile_phone,
            &mut kept,
        ),
        company: back(
            "company",
            &before.company,
            &after.company,
            &current.company,
            &mut kept,
        ),
        job_title: back(
            "jobTitle",
            &before.job_title,
            &after.job_title,
            &current.job_title,
            &mut kept,
        ),
        timezone: back(
            "timezone",
            &before.timezone,
            &after.timezone,
            &current.timezone,
            &mut kept,
        ),
    };
    Unmerge { result, kept }
}

/// One field of [`unmerge`].
fn back<T: Clone + PartialEq>(
    field: &'static str,
    before: &Option<T>,
    after: &Option<T>,
    current: &Option<T>,
    kept: &mut Vec<&'static str>,
) -> Option<T> {
    if before == after {
        current.clone()
    } else if current == after {
        before.clone()
    } else {
        kept.push(field);
        current.clone()
    }
}

#[cfg(test)]
mod tests {
    use proptest::option;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{Email, Phone};

    fn ann() -> ContactFields {
        ContactFields {
            first_name: Some("Ann".into()),
            email: Some(Email::parse("email", "ann@example.com").unwrap()),
            company: Some("Acme".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_seed_rules() {
        let incoming = ContactFields {
            first_name: Some("Annie".into()),
            email: Some(Email::parse("email", "ann@example.com").unwrap()),
            job_title: Some("CTO".into()),
            ..Default::default()
        };
        let plan = plan(&ann(), &incoming);
        let outcomes: Vec<(&str, MergeOutcome)> =
            plan.fields.iter().map(|f| (f.field, f.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                ("firstName", MergeOutcome::Overwritten),
                ("lastName", MergeOutcome::Unchanged),
                ("email", MergeOutcome::Unchanged),
                ("mobilePhone", MergeOutcome::Unchanged),
                ("company", MergeOutcome::Retained),
                ("jobTitle", MergeOutcome::Filled),
                ("timezone", MergeOutcome::Unchanged),
            ]
        );
        assert_eq!(plan.result.first_name.as_deref(), Some("Annie"));
        assert_eq!(plan.result.company.as_deref(), Some("Acme"));
        assert_eq!(plan.result.job_title.as_deref(), Some("CTO"));
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        option::of("[a-c]{1,2}")
    }

    fn fields() -> impl Strategy<Value = ContactFields> {
        (
            text(),
            text(),
            option::of("[a-c]{1,2}"),
            option::of(0u32..3),
            text(),
            text(),
            text(),
        )
            .prop_map(
                |(first, last, email, phone, company, job, tz)| ContactFields {
                    first_name: first,
                    last_name: last,
                    email: email.map(|local| {
                        Email::parse("email", &format!("{local}@example.com")).unwrap()
                    }),
                    mobile_phone: phone.map(|n| {
                        Phone::parse(
                            "mobilePhone",
                            &format!("+1415555010{n}"),
                            Default::default(),
                        )
                        .unwrap()
                    }),
                    company,
                    job_title: job,
                    timezone: tz,
                },
            )
    }

    #[test]
    fn undo_gives_back_what_the_merge_changed_unless_edited_since() {
        let before = ann();
        let incoming = ContactFields {
            first_name: Some("Annie".into()),
            job_title: Some("CTO".into()),
            timezone: Some("Europe/Paris".into()),
            ..Default::default()
        };
        let after = plan(&before, &incoming).result;
        let mut current = after.clone();
        current.job_title = Some("CEO".into());
        current.last_name = Some("Lee".into());
        let undone = unmerge(&before, &after, &current);
        assert_eq!(
            undone.result.first_name.as_deref(),
            Some("Ann"),
            "overwritten: back"
        );
        assert_eq!(undone.result.timezone, None, "filled: back to blank");
        assert_eq!(
            undone.result.job_title.as_deref(),
            Some("CEO"),
            "edited since: kept"
        );
        assert_eq!(
            undone.result.last_name.as_deref(),
            Some("Lee"),
            "not the merge's: stays"
        );
        assert_eq!(undone.kept, ["jobTitle"]);
    }

    #[test]
    fn a_field_kept_on_the_survivor_s_side_shows_retained() {
        let incoming = ContactFields {
            first_name: Some("Annie".into()),
            job_title: Some("CTO".into()),
            ..Default::default()
        };
        let choices =
            Choices::new([("firstName", Side::Survivor), ("company", Side::Incoming)]).unwrap();
        let plan = plan_with(&ann(), &incoming, &choices);
        assert_eq!(plan.result.first_name.as_deref(), Some("Ann"));
        assert_eq!(
            plan.result.company.as_deref(),
            Some("Acme"),
            "empty never clears"
        );
        assert_eq!(plan.result.job_title.as_deref(), Some("CTO"));
        let first = plan.fields.iter().find(|f| f.field == "firstName").unwrap();
        assert_eq!(first.outcome, MergeOutcome::Retained);
        assert_eq!(first.incoming.as_deref(), Some("Annie"));
        assert!(Choices::new([("ownerId", Side::Survivor)]).is_err());
        assert!(Choices::new([("email", Side::Survivor), ("email", Side::Incoming)]).is_err());
    }

    proptest! {
        /// Merge then undo, with nothing edited between, gives the
        /// survivor back field for field and names nothing kept.
        #[test]
        fn undo_after_merge_is_the_survivor_before(current in fields(), incoming in fields()) {
            let after = plan(&current, &incoming).result;
            let undone = unmerge(&current, &after, &after);
            prop_assert_eq!(undone.result, current);
            prop_assert!(undone.kept.is_empty());
        }

        /// Every field ends as incoming when incoming has a value, else as
        /// current; the outcome says which happened; nothing else changes.
        #[test]
        fn result_is_incoming_else_current(current in fields(), incoming in fields()) {
            let plan = plan(&current, &incoming);
            let result = plan.result.named_values();
            for (((field, cur), (_, inc)), (_, res)) in current
                .named_values()
                .into_iter()
                .zip(incoming.named_values())
                .zip(result)
            {
                prop_assert_eq!(res, inc.or(cur), "{}", field);
                let merge = plan.fields.iter().find(|f| f.field == field).unwrap();
                let expected = match (cur, inc) {
                    (Some(_), None) => MergeOutcome::Retained,
                    (None, None) => MergeOutcome::Unchanged,
                    (None, Some(_)) => MergeOutcome::Filled,
                    (Some(c), Some(i)) if c == i => MergeOutcome::Unchanged,
                    _ => MergeOutcome::Overwritten,
                };
                prop_assert_eq!(merge.outcome, expected);
                prop_assert_eq!(merge.current.as_deref(), cur);
                prop_assert_eq!(merge.incoming.as_deref(), inc);
            }
            prop_assert_eq!(plan.fields.len(), 7);
            // Empty never clears: an identity held by either side survives.
            prop_assert_eq!(
                plan.result.email.is_some(),
                current.email.is_some() || incoming.email.is_some()
            );
        }
    }
}
