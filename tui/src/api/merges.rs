//! Undoing a merge. The merges themselves are read with the contact
//! (`ApiClient::contact`).

use super::{ApiClient, ApiError, operations, policies};
use crate::model::{ContactRef, PolicyField, UndoneMerge, display_name};

impl ApiClient {
    /// Undoes merge `id` (`MergeRecord::id`). A survivor changed since
    /// `expected_survivor_version` is refused with CONFLICT, as are a
    /// merge undone already, one a later standing merge sits on, and one
    /// whose absorbed contact's identity belongs to another contact now.
    pub async fn undo_merge(
        &self,
        id: &str,
        expected_survivor_version: Option<i64>,
    ) -> Result<UndoneMerge, ApiError> {
        use operations::undo_merge as op;
        let variables = op::Variables {
            id: id.to_owned(),
            expected_survivor_version,
            first_name: self.reads(PolicyField::FirstName),
            last_name: self.reads(PolicyField::LastName),
            email: self.reads(PolicyField::Email),
            mobile_phone: self.reads(PolicyField::MobilePhone),
        };
        let data = self.run::<operations::UndoMerge>(variables).await?;
        let named = |contact: op::UndoneContact| ContactRef {
            name: display_name(
                contact.first_name.as_deref(),
                contact.last_name.as_deref(),
                [contact.email.as_deref(), contact.mobile_phone.as_deref()],
            ),
            id: contact.id,
        };
        let payload = data.undo_merge;
        Ok(UndoneMerge {
            survivor: named(payload.survivor),
            restored: payload.restored.map(named),
            kept_fields: payload
                .kept_fields
                .into_iter()
                .filter_map(|field| policies::policy_field!(op, field))
                .collect(),
        })
    }
}
