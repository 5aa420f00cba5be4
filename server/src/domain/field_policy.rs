//! Field policies (DESIGN.md section 11): what each role may do with each
//! field of a contact. They are data an admin changes at run time; the
//! defaults are the fixed rules of section 7. Every path that reads or
//! writes a field asks [`FieldRights`], so a policy holds on all of them.

use std::fmt;
use std::str::FromStr;

use super::permissions::Role;

/// A contact's fields as policies name them. `History` stands for the
/// contact's change log as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl ContactField {
    pub const ALL: [ContactField; 10] = [
        ContactField::FirstName,
        ContactField::LastName,
        ContactField::Email,
        ContactField::MobilePhone,
        ContactField::Company,
        ContactField::JobTitle,
        ContactField::Timezone,
        ContactField::Owner,
        ContactField::Team,
        ContactField::History,
    ];

    /// As stored and as the API's enum spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactField::FirstName => "FIRST_NAME",
            ContactField::LastName => "LAST_NAME",
            ContactField::Email => "EMAIL",
            ContactField::MobilePhone => "MOBILE_PHONE",
            ContactField::Company => "COMPANY",
            ContactField::JobTitle => "JOB_TITLE",
            ContactField::Timezone => "TIMEZONE",
            ContactField::Owner => "OWNER",
            ContactField::Team => "TEAM",
            ContactField::History => "HISTORY",
        }
    }

    /// The field's name where a caller types it (`ContactInput`, history
    /// entries, import mappings, error reports).
    pub fn input_name(self) -> &'static str {
        match self {
            ContactField::FirstName => "firstName",
            ContactField::LastName => "lastName",
            ContactField::Email => "email",
            ContactField::MobilePhone => "mobilePhone",
            ContactField::Company => "company",
            ContactField::JobTitle => "jobTitle",
            ContactField::Timezone => "timezone",
            ContactField::Owner => "ownerId",
            ContactField::Team => "teamId",
            ContactField::History => "history",
        }
    }

    /// The field an input name (`email`, `ownerId`, ...) belongs to.
    pub fn from_input_name(name: &str) -> Option<ContactField> {
        ContactField::ALL
            .into_iter()
            .find(|field| field.input_name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ContactField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContactField {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContactField::ALL
            .into_iter()
            .find(|field| field.as_str() == s)
            .ok_or_else(|| format!("unknown contact field {s:?}"))
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
    pub fn as_str(self) -> &'static str {
        match self {
            FieldAccess::None => "NONE",
            FieldAccess::Read => "READ",
            FieldAccess::Write => "WRITE",
        }
    }
}

impl FromStr for FieldAccess {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [FieldAccess::None, FieldAccess::Read, FieldAccess::Write]
            .into_iter()
            .find(|access| access.as_str() == s)
            .ok_or_else(|| format!("unknown field access {s:?}"))
    }
}

/// Why a policy change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRefused {
    /// An admin must be able to repair every record, so ADMIN keeps WRITE.
    AdminKeepsWrite,
    /// A viewer writes no contacts at all (section 7); a WRITE policy
    /// would promise what the role cannot do.
    ViewerWritesNothing,
}

impl PolicyRefused {
    pub fn message(self) -> &'static str {
        match self {
            PolicyRefused::AdminKeepsWrite => "ADMIN keeps WRITE on every field",
            PolicyRefused::ViewerWritesNothing => {
                "a VIEWER writes no contacts; READ is the most it can have"
            }
        }
    }
}

/// Whether `role` may be given `access` to a field.
pub fn check_policy(role: Role, access: FieldAccess) -> Result<(), PolicyRefused> {
    match role {
        Role::Admin if access != FieldAccess::Write => Err(PolicyRefused::AdminKeepsWrite),
        Role::Viewer if access == FieldAccess::Write => Err(PolicyRefused::ViewerWritesNothing),
        _ => Ok(()),
    }
}

/// One role's access to every field: the defaults with the stored
/// policies laid over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldRights([FieldAccess; ContactField::ALL.len()]);

impl FieldRights {
    /// Section 7's rules: members manage their contacts whole; viewers
    /// read them without personal data, owner or history; integrations
    /// match identities everywhere but never read owner, team or history.
    /// History is written only by the server: WRITE on it reads it.
    pub fn defaults(role: Role) -> Self {
        use FieldAccess::{None, Read, Write};
        let of = |field: ContactField| match (role, field) {
            (Role::Admin, _) => Write,
            (Role::Member, ContactField::History) => Read,
            (Role::Member, _) => Write,
            (
                Role::Viewer,
                ContactField::Email
                | ContactField::MobilePhone
                | ContactField::Owner
                | ContactField::Team
                | ContactField::History,
            ) => None,
            (Role::Viewer, _) => Read,
            (
                Role::Integration,
                ContactField::Owner | ContactField::Team | ContactField::History,
            ) => None,
            (Role::Integration, _) => Write,
        };
        Self(ContactField::ALL.map(of))
    }

    /// The defaults of `role` with `policies` laid over them; a policy the
    /// role may not hold (one stored before a rule was added) is ignored.
    pub fn of(role: Role, policies: impl IntoIterator<Item = (ContactField, FieldAccess)>) -> Self {
        let mut rights = Self::defaults(role);
        for (field, access) in policies {
            if check_policy(role, access).is_ok() {
                rights.0[field.index()] = access;
            }
        }
        rights
    }

    pub fn access(&self, field: ContactField) -> FieldAccess {
        self.0[field.index()]
    }

    pub fn may_read(&self, field: ContactField) -> bool {
        self.access(field) >= FieldAccess::Read
    }

    pub fn may_write(&self, field: ContactField) -> bool {
        self.access(field) == FieldAccess::Write
    }

    /// [`Self::may_write`] of a field named as `ContactInput` names it.
    pub fn may_write_named(&self, name: &str) -> bool {
        ContactField::from_input_name(name).is_some_and(|field| self.may_write(field))
    }

    /// Whether the field a caller types as `name` (`email`, `ownerId`, as
    /// history entries, previews and events name them) may be read; an
    /// unknown name may not.
    pub fn may_read_named(&self, name: &str) -> bool {
        ContactField::from_input_name(name).is_some_and(|field| self.may_read(field))
    }

    /// The name a contact is listed and ordered by is its first and last
    /// name together, so reading it takes both.
    pub fn may_read_name(&self) -> bool {
        self.may_read(ContactField::FirstName) && self.may_read(ContactField::LastName)
    }

    /// Every field with its access, in `ContactField::ALL`'s order.
    pub fn iter(&self) -> impl Iterator<Item = (ContactField, FieldAccess)> + '_ {
        ContactField::ALL
            .into_iter()
            .map(|field| (field, self.access(field)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_rules_of_section_7() {
        let viewer = FieldRights::defaults(Role::Viewer);
        assert!(viewer.may_read(ContactField::Company));
        assert!(!viewer.may_write(ContactField::Company));
        assert!(!viewer.may_read(ContactField::Email));
        assert!(!viewer.may_read(ContactField::History));
        let integration = FieldRights::defaults(Role::Integration);
        assert!(integration.may_write(ContactField::MobilePhone));
        assert!(!integration.may_read(ContactField::Owner));
        let member = FieldRights::defaults(Role::Member);
        assert!(member.may_write(ContactField::Team));
        assert!(member.may_read(ContactField::History));
        assert!(
            ContactField::ALL
                .iter()
                .all(|f| FieldRights::defaults(Role::Admin).may_write(*f))
        );
    }

    #[test]
    fn policies_lie_over_the_defaults_within_what_the_role_may_hold() {
        let member = FieldRights::of(
            Role::Member,
            [
                (ContactField::Email, FieldAccess::None),
                (ContactField::Company, FieldAccess::Read),
            ],
        );
        assert!(!member.may_read(ContactField::Email));
        assert!(member.may_read(ContactField::Company));
        assert!(!member.may_write(ContactField::Company));
        let admin = FieldRights::of(Role::Admin, [(ContactField::Email, FieldAccess::None)]);
        assert!(admin.may_write(ContactField::Email));
        let viewer = FieldRights::of(Role::Viewer, [(ContactField::Company, FieldAccess::Write)]);
        assert!(!viewer.may_write(ContactField::Company));
    }

    #[test]
    fn write_implies_read_and_a_name_takes_both_parts() {
        let rights = FieldRights::of(Role::Member, [(ContactField::LastName, FieldAccess::None)]);
        assert!(rights.may_read(ContactField::FirstName));
        assert!(!rights.may_read_name());
        assert!(FieldRights::defaults(Role::Member).may_read_name());
    }

    #[test]
    fn admin_keeps_write_and_viewers_never_write() {
        assert_eq!(
            check_policy(Role::Admin, FieldAccess::Read),
            Err(PolicyRefused::AdminKeepsWrite)
        );
        assert_eq!(check_policy(Role::Admin, FieldAccess::Write), Ok(()));
        assert_eq!(
            check_policy(Role::Viewer, FieldAccess::Write),
            Err(PolicyRefused::ViewerWritesNothing)
        );
        assert_eq!(check_policy(Role::Integration, FieldAccess::None), Ok(()));
    }

    #[test]
    fn names_round_trip() {
        for field in ContactField::ALL {
            assert_eq!(field.as_str().parse::<ContactField>(), Ok(field));
            assert_eq!(
                ContactField::from_input_name(field.input_name()),
                Some(field)
            );
        }
    }
}
