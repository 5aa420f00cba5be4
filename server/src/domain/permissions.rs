//! Who may do what (DESIGN.md section 7). The store turns [`Access`] into a
//! SQL condition so a contact a caller cannot access is never read, counted
//! or paged over; the GraphQL guards ask the `may_*` questions per field.

/// The seed's answer when an edit or an imported row would touch a contact
/// the caller cannot access: said the same way by every door, with nothing
/// about that contact.
pub const CANNOT_SAVE_CONTACT: &str = "Cannot save contact: this email or mobile phone belongs \
     to a contact you do not have permission to access. Ask your administrator to resolve the \
     contact record conflict.";

use std::fmt;
use std::str::FromStr;

use super::field_policy::{ContactField, FieldRights};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, on all contacts.
    Admin,
    /// Read, write and delete the contacts they own or share through a team.
    Member,
    /// Read the contacts they own or share through a team, without personal
    /// data, owner or history.
    Viewer,
    /// A system that records activities and creates or updates contacts by
    /// identity. It must match identities across the whole database, so it
    /// sees all contacts, but it never deletes and never reads owner or
    /// history.
    Integration,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Member, Role::Viewer, Role::Integration];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
            Role::Viewer => "VIEWER",
            Role::Integration => "INTEGRATION",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown role {s:?}; expected ADMIN, MEMBER, VIEWER or INTEGRATION")
            })
    }
}

/// Which contacts a caller can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    All,
    /// Contacts owned by `user_id` or shared with one of `team_ids`.
    OwnedOrShared {
        user_id: i64,
        team_ids: Vec<i64>,
    },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub team_ids: Vec<i64>,
    /// The role's field policies when the caller was authenticated.
    pub fields: FieldRights,
}

/// Why an assignment of owner or team is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentRefused {
    OwnerNotSelf,
    TeamNotJoined,
}

impl Principal {
    /// A caller whose role has the default field policies.
    pub fn with_defaults(user_id: i64, role: Role, team_ids: Vec<i64>) -> Self {
        Self {
            user_id,
            role,
            team_ids,
            fields: FieldRights::defaults(role),
        }
    }

    pub fn access(&self) -> Access {
        match self.role {
            Role::Admin | Role::Integration => Access::All,
            Role::Member | Role::Viewer => Access::OwnedOrShared {
                user_id: self.user_id,
                team_ids: self.team_ids.clone(),
            },
        }
    }

    pub fn can_access(&self, owner_id: Option<i64>, team_id: Option<i64>) -> bool {
        match self.access() {
            Access::All => true,
            Access::OwnedOrShared { user_id, team_ids } => {
                owner_id == Some(user_id) || team_id.is_some_and(|team| team_ids.contains(&team))
            }
        }
    }

    pub fn may_write_contacts(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Member | Role::Integration)
    }

    pub fn may_delete_contacts(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Member)
    }

    /// A merge removes a record, so it takes the right to delete.
    pub fn may_merge(&self) -> bool {
        self.may_delete_contacts()
    }

    /// Activities, and the contacts they create, are written on behalf of
    /// an integration or an admin.
    pub fn may_record_activities(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Integration)
    }

    pub fn may_read(&self, field: ContactField) -> bool {
        self.fields.may_read(field)
    }

    pub fn may_write(&self, field: ContactField) -> bool {
        self.fields.may_write(field)
    }

    /// The first of `given` the caller may not write: a write naming it is
    /// refused whole, so nothing is written.
    pub fn first_unwritable(
        &self,
        given: impl IntoIterator<Item = ContactField>,
    ) -> Option<ContactField> {
        given.into_iter().find(|field| !self.may_write(*field))
    }

    pub fn may_administer(&self) -> bool {
        self.role == Role::Admin
    }

    /// Users are visible to admins, and to anyone as themselves.
    pub fn may_see_user(&self, user_id: i64) -> bool {
        self.is_admin_or(user_id)
    }

    /// An admin, or the user `user_id` themself: who sees a user's role,
    /// teams and tokens, and issues and revokes their tokens.
    pub fn is_admin_or(&self, user_id: i64) -> bool {
        self.may_administer() || self.user_id == user_id
    }

    /// Teams are visible to admins, and to their members.
    pub fn may_see_team(&self, team_id: i64) -> bool {
        self.may_administer() || self.team_ids.contains(&team_id)
    }

    /// A contact's history entries, one by one as in the list: the history
    /// policy and access to the contact, both.
    pub fn may_read_history_of(&self, owner_id: Option<i64>, team_id: Option<i64>) -> bool {
        self.may_read(ContactField::History) && self.can_access(owner_id, team_id)
    }

    /// Whom a contact this caller creates belongs to when no owner is
    /// given: the caller, unless an integration creates it (its contacts
    /// belong to no one until assigned).
    pub fn default_owner(&self) -> Option<i64> {
        match self.role {
            Role::Integration => None,
            _ => Some(self.user_id),
        }
    }

    /// A member may not place a contact where they would lose it; admins
    /// and integrations reach every contact anyway.
    pub fn keeps_in_reach(&self, owner_id: Option<i64>, team_id: Option<i64>) -> bool {
        self.role != Role::Member || self.can_access(owner_id, team_id)
    }

    /// An import job, its progress and its report: whoever started it, and
    /// admins.
    pub fn may_see_import_job(&self, started_by: i64) -> bool {
        self.may_administer() || self.user_id == started_by
    }

    /// Integrations and their delivery log hold endpoints and what was sent
    /// to them: admins only.
    pub fn may_manage_integrations(&self) -> bool {
        self.role == Role::Admin
    }

    /// A member may only make a contact theirs or share it with a team they
    /// are in, so they cannot hand records to people they cannot see.
    pub fn check_assignment(
        &self,
        owner_id: Option<i64>,
        team_id: Option<i64>,
    ) -> Result<(), AssignmentRefused> {
        if self.role != Role::Member {
            return Ok(());
        }
        if owner_id.is_some_and(|owner| owner != self.user_id) {
            return Err(AssignmentRefused::OwnerNotSelf);
        }
        if team_id.is_some_and(|team| !self.team_ids.contains(&team)) {
            return Err(AssignmentRefused::TeamNotJoined);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Principal {
        Principal::with_defaults(7, Role::Member, vec![3])
    }

    fn as_role(role: Role) -> Principal {
        Principal::with_defaults(7, role, vec![3])
    }

    #[test]
    fn member_reaches_own_and_team_contacts_only() {
        let m = member();
        assert!(m.can_access(Some(7), None));
        assert!(m.can_access(Some(8), Some(3)));
        assert!(!m.can_access(Some(8), Some(4)));
        assert!(!m.can_access(None, None));
    }

    #[test]
    fn new_contacts_belong_to_their_creator_unless_an_integration_creates_them() {
        assert_eq!(member().default_owner(), Some(7));
        let integration = as_role(Role::Integration);
        assert_eq!(integration.default_owner(), None);
    }

    #[test]
    fn only_members_can_place_a_contact_out_of_their_own_reach() {
        let m = member();
        assert!(m.keeps_in_reach(Some(7), None));
        assert!(m.keeps_in_reach(Some(8), Some(3)));
        assert!(!m.keeps_in_reach(Some(8), None));
        let admin = as_role(Role::Admin);
        assert!(admin.keeps_in_reach(Some(8), None));
    }

    #[test]
    fn import_jobs_are_seen_by_their_starter_and_admins() {
        let m = member();
        assert!(m.may_see_import_job(7));
        assert!(!m.may_see_import_job(8));
        let admin = as_role(Role::Admin);
        assert!(admin.may_see_import_job(8));
    }

    #[test]
    fn viewer_reads_no_personal_data() {
        let v = as_role(Role::Viewer);
        assert!(!v.may_read(ContactField::Email));
        assert!(!v.may_write_contacts());
        assert!(v.can_access(Some(7), None));
    }

    #[test]
    fn member_assigns_only_to_self_and_own_teams() {
        let m = member();
        assert_eq!(m.check_assignment(Some(7), Some(3)), Ok(()));
        assert_eq!(
            m.check_assignment(Some(8), None),
            Err(AssignmentRefused::OwnerNotSelf)
        );
        assert_eq!(
            m.check_assignment(None, Some(4)),
            Err(AssignmentRefused::TeamNotJoined)
        );
    }

    #[test]
    fn history_needs_the_guard_and_the_contact() {
        let m = member();
        assert!(m.may_read_history_of(Some(7), None));
        assert!(!m.may_read_history_of(Some(8), Some(4)));
        let v = as_role(Role::Viewer);
        assert!(!v.may_read_history_of(Some(7), None));
        let i = as_role(Role::Integration);
        assert!(!i.may_read_history_of(Some(8), None));
    }

    #[test]
    fn only_admins_manage_integrations() {
        for role in Role::ALL {
            let p = as_role(role);
            assert_eq!(p.may_manage_integrations(), role == Role::Admin, "{role}");
        }
    }

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }
}
