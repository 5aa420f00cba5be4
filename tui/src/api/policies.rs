//! Field policies: the admin's matrix and its changes. The user's own,
//! in `me.permissions`, are read with `me` (`api/mod.rs`).

use super::{ApiClient, ApiError, operations};
use crate::model::{FieldAccess, FieldPolicy, PolicyField, PolicyMatrix, Role};

/// Converts one operation's generated `Role`, `ContactField` and
/// `FieldAccess` into the model's; `None` for a value this client does
/// not know (a policy of it is not shown).
macro_rules! policy {
    ($op:ident, $role:expr, $field:expr, $access:expr) => {{
        let role = match $role {
            $op::Role::ADMIN => Role::Admin,
            $op::Role::MEMBER => Role::Member,
            $op::Role::VIEWER => Role::Viewer,
            $op::Role::INTEGRATION => Role::Integration,
            $op::Role::Other(other) => Role::Other(other),
        };
        let field = policy_field!($op, $field);
        let access = field_access!($op, $access);
        match (field, access) {
            (Some(field), Some(access)) => Some(FieldPolicy {
                role,
                field,
                access,
            }),
            _ => None,
        }
    }};
}

macro_rules! policy_field {
    ($op:ident, $field:expr) => {
        match $field {
            $op::ContactField::FIRST_NAME => Some($crate::model::PolicyField::FirstName),
            $op::ContactField::LAST_NAME => Some($crate::model::PolicyField::LastName),
            $op::ContactField::EMAIL => Some($crate::model::PolicyField::Email),
            $op::ContactField::MOBILE_PHONE => Some($crate::model::PolicyField::MobilePhone),
            $op::ContactField::COMPANY => Some($crate::model::PolicyField::Company),
            $op::ContactField::JOB_TITLE => Some($crate::model::PolicyField::JobTitle),
            $op::ContactField::TIMEZONE => Some($crate::model::PolicyField::Timezone),
            $op::ContactField::OWNER => Some($crate::model::PolicyField::Owner),
            $op::ContactField::TEAM => Some($crate::model::PolicyField::Team),
            $op::ContactField::HISTORY => Some($crate::model::PolicyField::History),
            $op::ContactField::Other(_) => None,
        }
    };
}

macro_rules! field_access {
    ($op:ident, $access:expr) => {
        match $access {
            $op::FieldAccess::NONE => Some($crate::model::FieldAccess::None),
            $op::FieldAccess::READ => Some($crate::model::FieldAccess::Read),
            $op::FieldAccess::WRITE => Some($crate::model::FieldAccess::Write),
            $op::FieldAccess::Other(_) => None,
        }
    };
}

pub(super) use {field_access, policy_field};

impl ApiClient {
    pub async fn field_policies(&self) -> Result<PolicyMatrix, ApiError> {
        use operations::field_policies as op;
        let data = self.run::<operations::FieldPolicies>(op::Variables).await?;
        Ok(PolicyMatrix {
            policies: data
                .field_policies
                .into_iter()
                .filter_map(|policy| policy!(op, policy.role, policy.field, policy.access))
                .collect(),
        })
    }

    pub async fn set_field_policy(&self, policy: &FieldPolicy) -> Result<FieldPolicy, ApiError> {
        use operations::set_field_policy as op;
        let unknown = || ApiError::Server(format!("unknown role {}", policy.role.name()));
        let variables = op::Variables {
            role: match &policy.role {
                Role::Admin => op::Role::ADMIN,
                Role::Member => op::Role::MEMBER,
                Role::Viewer => op::Role::VIEWER,
                Role::Integration => op::Role::INTEGRATION,
                Role::Other(_) => return Err(unknown()),
            },
            field: match policy.field {
                PolicyField::FirstName => op::ContactField::FIRST_NAME,
                PolicyField::LastName => op::ContactField::LAST_NAME,
                PolicyField::Email => op::ContactField::EMAIL,
                PolicyField::MobilePhone => op::ContactField::MOBILE_PHONE,
                PolicyField::Company => op::ContactField::COMPANY,
                PolicyField::JobTitle => op::ContactField::JOB_TITLE,
                PolicyField::Timezone => op::ContactField::TIMEZONE,
                PolicyField::Owner => op::ContactField::OWNER,
                PolicyField::Team => op::ContactField::TEAM,
                PolicyField::History => op::ContactField::HISTORY,
            },
            access: match policy.access {
                FieldAccess::None => op::FieldAccess::NONE,
                FieldAccess::Read => op::FieldAccess::READ,
                FieldAccess::Write => op::FieldAccess::WRITE,
            },
        };
        let set = self
            .run::<operations::SetFieldPolicy>(variables)
            .await?
            .set_field_policy;
        policy!(op, set.role, set.field, set.access).ok_or_else(|| {
            ApiError::Server("the server answered with a field or access unknown here".to_owned())
        })
    }
}
