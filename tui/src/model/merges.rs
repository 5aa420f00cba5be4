//! Reversible merges (DESIGN.md section 13): the side a merge keeps of
//! each field, the merges recorded into a contact, and what undoing one
//! gave back.

use super::{ContactField, FieldMerge, MergeOutcome, PolicyField};

/// Whose value a merge keeps of one field: the survivor's, or the
/// incoming one (the absorbed contact's, or what was typed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MergeSide {
    Survivor,
    Incoming,
}

impl MergeSide {
    pub fn other(self) -> MergeSide {
        match self {
            MergeSide::Survivor => MergeSide::Incoming,
            MergeSide::Incoming => MergeSide::Survivor,
        }
    }
}

/// One field kept on a side other than the merge's own rule would keep
/// it (the schema's `FieldChoice`): sent with the preview, which shows
/// it, and with the confirm, which applies it. Only a contact's own
/// fields are merged field by field (not owner or team).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldChoice {
    pub field: ContactField,
    pub keep: MergeSide,
}

impl FieldMerge {
    /// The side the merge keeps by its own rule: a non-empty incoming
    /// value that differs wins; empty never clears, so otherwise the
    /// survivor's value stays (the same value, when both agree).
    pub fn default_side(&self) -> MergeSide {
        if self.has_choice() {
            MergeSide::Incoming
        } else {
            MergeSide::Survivor
        }
    }

    /// Whether there are two values to choose between: a non-empty
    /// incoming value that differs from the survivor's, of one of the
    /// contact's own fields (a `FieldChoice` names no other).
    pub fn has_choice(&self) -> bool {
        let incoming = self.incoming.as_deref().filter(|value| !value.is_empty());
        ContactField::from_input_name(&self.field).is_some()
            && incoming.is_some()
            && incoming != self.current.as_deref()
    }

    /// Whether the merge changed the survivor's value, so undoing it
    /// gives the earlier one back.
    pub fn changed_survivor(&self) -> bool {
        matches!(
            self.outcome,
            MergeOutcome::Filled | MergeOutcome::Overwritten
        )
    }
}

/// A merge into a contact, as `Contact.merges` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    pub id: String,
    /// The absorbed contact's id; `None` when the incoming values were
    /// those of a new contact (a create that hit an identity).
    pub merged_id: Option<String>,
    pub merged_at: String,
    /// Who merged; `None` for a user since removed.
    pub merged_by: Option<String>,
    /// MANUAL, API, IMPORT, ...
    pub source: String,
    /// `None` while the merge stands.
    pub undone_at: Option<String>,
    /// Whether the server would undo it now, as far as merges go (not
    /// undone, no later merge into the contact standing).
    pub undoable: bool,
    /// The survivor's fields the merge changed that were edited since:
    /// an undo now keeps their later values.
    pub edited_since: Vec<PolicyField>,
    /// The preview the merge was confirmed with (fields the user may not
    /// read left out): `incoming` is what the absorbed contact held,
    /// `current` what the survivor held before.
    pub fields: Vec<FieldMerge>,
}

impl MergeRecord {
    pub fn stands(&self) -> bool {
        self.undone_at.is_none()
    }

    /// Whether an undo now keeps the survivor's value of this field
    /// because it was edited since the merge.
    pub fn keeps(&self, field: &FieldMerge) -> bool {
        ContactField::from_input_name(&field.field)
            .is_some_and(|field| self.edited_since.contains(&PolicyField::of(field)))
    }

    /// What was absorbed, as a sentence's object.
    pub fn absorbed(&self) -> String {
        match &self.merged_id {
            Some(id) => format!("contact {id}"),
            None => "values of a new contact".to_owned(),
        }
    }
}

/// A contact named in an undo's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRef {
    pub id: String,
    pub name: String,
}

/// What `undoMerge` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoneMerge {
    pub survivor: ContactRef,
    /// The absorbed contact, back under its own id; `None` for a merge of
    /// a new contact's values.
    pub restored: Option<ContactRef>,
    /// The survivor's fields edited since the merge, which kept their
    /// later value.
    pub kept_fields: Vec<PolicyField>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, current: Option<&str>, incoming: Option<&str>) -> FieldMerge {
        FieldMerge {
            field: name.to_owned(),
            current: current.map(str::to_owned),
            incoming: incoming.map(str::to_owned),
            outcome: MergeOutcome::Overwritten,
        }
    }

    #[test]
    fn a_choice_needs_two_different_values() {
        assert!(field("company", Some("Acme"), Some("Initech")).has_choice());
        assert!(field("company", None, Some("Initech")).has_choice());
        assert!(!field("company", Some("Acme"), Some("Acme")).has_choice());
        assert!(!field("company", Some("Acme"), None).has_choice());
        assert!(!field("company", Some("Acme"), Some("")).has_choice());
        assert!(!field("somethingNew", None, Some("x")).has_choice());
        assert!(
            !field("ownerId", None, Some("VXNlcjoy")).has_choice(),
            "not merged"
        );
        assert_eq!(
            field("company", Some("Acme"), None).default_side(),
            MergeSide::Survivor
        );
        assert_eq!(
            field("company", Some("Acme"), Some("Initech")).default_side(),
            MergeSide::Incoming
        );
    }
}
