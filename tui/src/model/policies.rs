//! Field policies: what each role may do with each field of a contact
//! (DESIGN.md section 11). The server holds them; an admin changes them
//! on the policy matrix, and `me.permissions` tells every client what its
//! user may read and write, so screens leave out what they cannot show.

use super::{ContactField, Role};

/// A contact's fields as policies name them (the schema's `ContactField`;
/// `model::ContactField` is the narrower set the form edits). `History`
/// is the contact's change log as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyField {
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

impl PolicyField {
    pub const ALL: [PolicyField; 10] = [
        PolicyField::FirstName,
        PolicyField::LastName,
        PolicyField::Email,
        PolicyField::MobilePhone,
        PolicyField::Company,
        PolicyField::JobTitle,
        PolicyField::Timezone,
        PolicyField::Owner,
        PolicyField::Team,
        PolicyField::History,
    ];

    /// As the schema spells it.
    pub fn name(self) -> &'static str {
        match self {
            PolicyField::FirstName => "FIRST_NAME",
            PolicyField::LastName => "LAST_NAME",
            PolicyField::Email => "EMAIL",
            PolicyField::MobilePhone => "MOBILE_PHONE",
            PolicyField::Company => "COMPANY",
            PolicyField::JobTitle => "JOB_TITLE",
            PolicyField::Timezone => "TIMEZONE",
            PolicyField::Owner => "OWNER",
            PolicyField::Team => "TEAM",
            PolicyField::History => "HISTORY",
        }
    }

    pub fn label(self) -> &'static str {
        match self.contact_field() {
            Some(field) => field.label(),
            None => match self {
                PolicyField::Owner => "Owner",
                PolicyField::Team => "Team",
                _ => "History",
            },
        }
    }

    /// At most five columns, for a matrix on a narrow screen.
    pub fn short_label(self) -> &'static str {
        match self {
            PolicyField::FirstName => "First",
            PolicyField::LastName => "Last",
            PolicyField::Email => "Email",
            PolicyField::MobilePhone => "Phone",
            PolicyField::Company => "Comp.",
            PolicyField::JobTitle => "Job",
            PolicyField::Timezone => "TZ",
            PolicyField::Owner => "Owner",
            PolicyField::Team => "Team",
            PolicyField::History => "Hist.",
        }
    }

    /// The field the contact form edits, for the seven it does.
    pub fn contact_field(self) -> Option<ContactField> {
        Some(match self {
            PolicyField::FirstName => ContactField::FirstName,
            PolicyField::LastName => ContactField::LastName,
            PolicyField::Email => ContactField::Email,
            PolicyField::MobilePhone => ContactField::MobilePhone,
            PolicyField::Company => ContactField::Company,
            PolicyField::JobTitle => ContactField::JobTitle,
            PolicyField::Timezone => ContactField::Timezone,
            PolicyField::Owner | PolicyField::Team | PolicyField::History => return None,
        })
    }

    pub fn of(field: ContactField) -> PolicyField {
        match field {
            ContactField::FirstName => PolicyField::FirstName,
            ContactField::LastName => PolicyField::LastName,
            ContactField::Email => PolicyField::Email,
            ContactField::MobilePhone => PolicyField::MobilePhone,
            ContactField::Company => PolicyField::Company,
            ContactField::JobTitle => PolicyField::JobTitle,
            ContactField::Timezone => PolicyField::Timezone,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a role may do with a field; each level includes the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldAccess {
    None,
    Read,
    Write,
}

impl FieldAccess {
    pub const ALL: [FieldAccess; 3] = [FieldAccess::None, FieldAccess::Read, FieldAccess::Write];

    pub fn name(self) -> &'static str {
        match self {
            FieldAccess::None => "NONE",
            FieldAccess::Read => "READ",
            FieldAccess::Write => "WRITE",
        }
    }

    /// NONE, READ, WRITE, then NONE again.
    pub fn next(self) -> FieldAccess {
        match self {
            FieldAccess::None => FieldAccess::Read,
            FieldAccess::Read => FieldAccess::Write,
            FieldAccess::Write => FieldAccess::None,
        }
    }

    pub fn may_read(self) -> bool {
        self >= FieldAccess::Read
    }

    pub fn may_write(self) -> bool {
        self == FieldAccess::Write
    }

    /// What the access means for a user of the role, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            FieldAccess::None => "not shown, and left out of search, filters, history and exports",
            FieldAccess::Read => "shown, but not changed (forms, imports and the API refuse it)",
            FieldAccess::Write => "shown and changed",
        }
    }
}

/// One cell of the policy matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPolicy {
    pub role: Role,
    pub field: PolicyField,
    pub access: FieldAccess,
}

/// One user's access to every field: what `me.permissions` says, or,
/// from a server that does not tell, the default policy of the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldRights([FieldAccess; PolicyField::ALL.len()]);

impl FieldRights {
    pub const ALL: FieldRights = FieldRights([FieldAccess::Write; PolicyField::ALL.len()]);

    /// The default policies (DESIGN.md section 7): members manage their
    /// contacts whole; viewers read them without personal data, owner or
    /// history; integrations match identities everywhere but never read
    /// owner, team or history. A role this client does not know gets
    /// what a viewer gets: nothing it may be refused.
    pub fn defaults(role: &Role) -> FieldRights {
        use FieldAccess::{None, Read, Write};
        FieldRights(PolicyField::ALL.map(|field| match (role, field) {
            (Role::Admin, _) => Write,
            (Role::Member, PolicyField::History) => Read,
            (Role::Member, _) => Write,
            (
                Role::Viewer | Role::Other(_),
                PolicyField::Email
                | PolicyField::MobilePhone
                | PolicyField::Owner
                | PolicyField::Team
                | PolicyField::History,
            ) => None,
            (Role::Viewer | Role::Other(_), _) => Read,
            (Role::Integration, PolicyField::Owner | PolicyField::Team | PolicyField::History) => {
                None
            }
            (Role::Integration, _) => Write,
        }))
    }

    /// The rights `permissions` lists; a field it leaves out is NONE.
    pub fn from_permissions(
        permissions: impl IntoIterator<Item = (PolicyField, FieldAccess)>,
    ) -> FieldRights {
        let mut rights = FieldRights([FieldAccess::None; PolicyField::ALL.len()]);
        for (field, access) in permissions {
            rights.set(field, access);
        }
        rights
    }

    pub fn access(&self, field: PolicyField) -> FieldAccess {
        self.0
            .get(field.index())
            .copied()
            .unwrap_or(FieldAccess::None)
    }

    pub fn set(&mut self, field: PolicyField, access: FieldAccess) {
        if let Some(slot) = self.0.get_mut(field.index()) {
            *slot = access;
        }
    }

    pub fn may_read(&self, field: PolicyField) -> bool {
        self.access(field).may_read()
    }

    pub fn may_write(&self, field: PolicyField) -> bool {
        self.access(field).may_write()
    }
}

impl Default for FieldRights {
    fn default() -> Self {
        FieldRights::ALL
    }
}

/// Every role's access to every field, as `fieldPolicies` answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyMatrix {
    pub policies: Vec<FieldPolicy>,
}

impl PolicyMatrix {
    pub fn access(&self, role: &Role, field: PolicyField) -> Option<FieldAccess> {
        self.policies
            .iter()
            .find(|policy| policy.role == *role && policy.field == field)
            .map(|policy| policy.access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_cycles_and_write_includes_read() {
        assert_eq!(FieldAccess::None.next(), FieldAccess::Read);
        assert_eq!(FieldAccess::Write.next(), FieldAccess::None);
        assert!(FieldAccess::Write.may_read());
        assert!(!FieldAccess::Read.may_write());
        assert!(!FieldAccess::None.may_read());
    }

    #[test]
    fn permissions_leave_out_means_none() {
        let rights = FieldRights::from_permissions([(PolicyField::Email, FieldAccess::Read)]);
        assert!(rights.may_read(PolicyField::Email));
        assert!(!rights.may_write(PolicyField::Email));
        assert!(!rights.may_read(PolicyField::Company));
        let viewer = FieldRights::defaults(&Role::Viewer);
        assert!(viewer.may_read(PolicyField::Company));
        assert!(!viewer.may_read(PolicyField::MobilePhone));
    }
}
