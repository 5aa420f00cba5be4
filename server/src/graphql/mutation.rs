use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::contact::{Contact, ContactInput};
use super::error::ApiError;
use super::ids::{self, Kind};
use super::{principal, state};
use crate::domain::contact::Change;
use crate::domain::{ContactPatch, Principal, Role, Source};
use crate::store::contacts::{self, ContactEdit, NewContact};

#[derive(SimpleObject)]
pub struct SaveContactPayload {
    pub contact: Option<Contact>,
}

#[derive(SimpleObject)]
pub struct DeleteContactPayload {
    pub deleted_contact_id: ID,
}

/// Integrations write through the API; people through a client's form.
fn source_of(caller: &Principal) -> Source {
    match caller.role {
        Role::Integration => Source::Api,
        _ => Source::Manual,
    }
}

fn set_or_none(change: Change<i64>) -> Option<i64> {
    match change {
        Change::Set(id) => Some(id),
        Change::Keep | Change::Clear => None,
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates a contact. It needs an email or a mobile phone; one that
    /// belongs to another contact is refused.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: ContactInput,
    ) -> Result<SaveContactPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let patch = ContactPatch::parse(&input.raw_fields(), app.settings.default_region)
            .map_err(ApiError::from)?;
        let assignment = input.assignment()?;
        let record = contacts::create(
            &app.store,
            caller,
            NewContact {
                patch,
                owner_id: set_or_none(assignment.owner_id),
                team_id: set_or_none(assignment.team_id),
                source: source_of(caller),
            },
        )
        .await
        .map_err(ApiError::from)?;
        Ok(SaveContactPayload {
            contact: Some(Contact(record)),
        })
    }

    /// Edits a contact: a field left out is unchanged, `null` clears it.
    /// With `expectedVersion`, the edit is refused with CONFLICT when the
    /// contact changed since the caller read it.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ContactInput,
        expected_version: Option<i32>,
    ) -> Result<SaveContactPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let id = ids::decode("id", Kind::Contact, &id)?.ok_or(ApiError::NotFound)?;
        let patch = ContactPatch::parse(&input.raw_fields(), app.settings.default_region)
            .map_err(ApiError::from)?;
        let record = contacts::update(
            &app.store,
            caller,
            ContactEdit {
                id,
                patch,
                assignment: input.assignment()?,
                expected_version,
                source: source_of(caller),
            },
        )
        .await
        .map_err(ApiError::from)?;
        Ok(SaveContactPayload {
            contact: Some(Contact(record)),
        })
    }

    /// Deletes a contact permanently; its email and phone are free again.
    async fn delete_contact(&self, ctx: &Context<'_>, id: ID) -> Result<DeleteContactPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let number = ids::decode("id", Kind::Contact, &id)?.ok_or(ApiError::NotFound)?;
        contacts::delete(&app.store, caller, number)
            .await
            .map_err(ApiError::from)?;
        Ok(DeleteContactPayload {
            deleted_contact_id: id,
        })
    }
}
