//! Users, teams and API tokens, as the admin screens show them.

use std::fmt;

use super::Role;

/// One user of the users screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    /// `None` when the server withheld it (never for an admin asking).
    pub role: Option<Role>,
    pub active: bool,
    pub teams: Vec<Team>,
}

impl User {
    /// "Sales, Support", or "—" for none.
    pub fn team_names(&self) -> String {
        if self.teams.is_empty() {
            return "—".to_owned();
        }
        self.teams
            .iter()
            .map(|team| team.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub name: String,
}

/// Which users the users screen lists (`UserFilter`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserQuery {
    pub search: String,
    pub role: Option<Role>,
    /// `Some(true)`: active only; `Some(false)`: deactivated only.
    pub active: Option<bool>,
    pub team: Option<Team>,
}

/// What a save of a user sends: a new user, or the fields of one to
/// change (a field left `None` stays as it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserEdit {
    Create {
        name: String,
        role: Role,
        team_ids: Vec<String>,
    },
    Update {
        id: String,
        /// How the status line names the user.
        name: String,
        rename: Option<String>,
        role: Option<Role>,
        team_ids: Option<Vec<String>>,
        active: Option<bool>,
    },
}

/// A saved user; `token` is set for a new user: its first token, shown
/// once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedUser {
    pub user: User,
    pub token: Option<Secret>,
}

/// One API token of a user. The secret is never here: the server shows it
/// once, in the answer that issued it ([`IssuedToken`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub label: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl ApiToken {
    pub fn label_or_blank(&self) -> &str {
        match self.label.as_deref() {
            Some(label) if !label.is_empty() => label,
            _ => "(no label)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: Secret,
}

/// A token's secret, held only from the answer that carries it until the
/// popup showing it closes. Its `Debug` does not print it, so no log,
/// panic message or test failure repeats it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Secret {
        Secret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_not_printed_by_debug() {
        let secret = Secret::new("ct_s3cr3t".to_owned());
        assert_eq!(format!("{secret:?}"), "Secret(…)");
        assert_eq!(secret.expose(), "ct_s3cr3t");
    }
}
