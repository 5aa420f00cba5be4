//! Field-level guards. A guard failure is a `FORBIDDEN` error on that field
//! alone; the rest of the answer stays intact (the fields are nullable).

use async_graphql::{Context, Guard, Result};

use super::error::ApiError;
use super::principal;

/// Email and mobile phone.
pub struct PersonalData;

impl Guard for PersonalData {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        if principal(ctx)?.may_read_personal_data() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this role cannot read personal data").into())
        }
    }
}

/// Owner, team and history.
pub struct OwnershipAndHistory;

impl Guard for OwnershipAndHistory {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        if principal(ctx)?.may_read_ownership_and_history() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this role cannot read ownership or history").into())
        }
    }
}
