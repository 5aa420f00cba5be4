//! Field policies in the API: the enums, the `FieldPolicy` type and the
//! guard every contact field answers through.

use async_graphql::{Context, Enum, Guard, SimpleObject};

use super::error::ApiError;
use super::principal;
use super::user::Role;
use crate::domain::{self, field_policy};

/// A contact's fields as policies name them; HISTORY is the change log.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContactField {
    FirstName,
    LastName,
    Email,
    MobilePhone,
    Company,
    JobTitle,
    Timezone,
    Owner,
    Team,
    History,
}

mirror_enum!(ContactField <=> field_policy::ContactField {
    FirstName, LastName, Email, MobilePhone, Company, JobTitle, Timezone, Owner, Team, History
});

/// WRITE implies READ. WRITE on HISTORY reads it: history is written by
/// the server alone.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum FieldAccess {
    None,
    Read,
    Write,
}

mirror_enum!(FieldAccess <=> field_policy::FieldAccess { None, Read, Write });

#[derive(SimpleObject)]
pub struct FieldPolicy {
    pub role: Role,
    pub field: ContactField,
    pub access: FieldAccess,
}

/// A role's rights as the API lists them, field by field.
pub fn policies(role: domain::Role, rights: &field_policy::FieldRights) -> Vec<FieldPolicy> {
    rights
        .iter()
        .map(|(field, access)| FieldPolicy {
            role: role.into(),
            field: field.into(),
            access: access.into(),
        })
        .collect()
}

/// A field the caller's role may read; otherwise FORBIDDEN on the field,
/// the rest of the answer intact (guarded fields are nullable).
pub struct Reads(pub field_policy::ContactField);

impl Guard for Reads {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if principal(ctx)?.fields.may_read(self.0) {
            Ok(())
        } else {
            Err(
                ApiError::forbidden(format!("this role cannot read {}", self.0.input_name()))
                    .into(),
            )
        }
    }
}
