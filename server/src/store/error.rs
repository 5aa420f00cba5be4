use sea_orm::{DbErr, RuntimeErr, SqlErr};
use thiserror::Error;

use crate::domain::ValidationError;
use crate::domain::field_policy::FieldRights;

/// What a use-case can answer besides success. Each variant is mapped once,
/// in `graphql::error`, to an `extensions.code`.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The record does not exist, or the caller cannot access it: the two
    /// are indistinguishable from outside on purpose.
    #[error("not found")]
    NotFound,
    /// The caller's role does not allow the action; `field` names the input
    /// field at fault when there is one.
    #[error("forbidden: {reason}")]
    Forbidden {
        field: Option<&'static str>,
        reason: &'static str,
    },
    /// A merge or its undo would change `field` of a contact, which the
    /// caller's role may not write (`by`: what would change it).
    #[error("this role cannot write {field}, which this {by} would change")]
    FieldUnwritable {
        field: &'static str,
        by: &'static str,
    },
    /// The email or mobile phone typed into `field` belongs to a contact
    /// the caller cannot access. Nothing else about that contact leaves
    /// the store.
    #[error("{field} belongs to a contact the caller cannot access")]
    CannotSaveContact { field: &'static str },
    /// The identity typed into `field` was taken by a concurrent write even
    /// after a retry.
    #[error("{field} was just taken by another contact")]
    IdentityTaken { field: &'static str },
    /// `expectedVersion` is not the contact's version any more.
    #[error("the contact changed since version {expected}")]
    Conflict { expected: i32 },
    /// An undo of a merge that cannot be done now; `field` names the
    /// identity at fault when one is.
    #[error("{reason}")]
    MergeConflict {
        field: Option<&'static str>,
        reason: String,
    },
    /// The caller has `limit` import jobs queued or running already.
    #[error("{limit} imports are queued or running already")]
    TooManyJobs { limit: u64 },
    /// Another process claimed the import job this one was running (its
    /// lease had lapsed); the batch in hand is rolled back.
    #[error("the import job was claimed by another process")]
    ClaimLost,
    /// The store was opened without the key integration secrets need.
    #[error("no secret key is configured for integration secrets")]
    NoSecretKey,
    #[error(transparent)]
    Secret(#[from] super::secret_box::SecretError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl StoreError {
    /// A merge or undo (`by`) would change `field`, which the caller may not
    /// write. Named when the caller may read it, so they can keep the
    /// survivor's side; a field they may not read is not named (its name
    /// would say the records differ there).
    pub fn unwritable(rights: &FieldRights, field: &'static str, by: &'static str) -> Self {
        if rights.may_read_named(field) {
            StoreError::FieldUnwritable { field, by }
        } else {
            StoreError::forbidden(
                "this would change a field this role may not read; an administrator can do it",
            )
        }
    }

    pub fn forbidden(reason: &'static str) -> Self {
        StoreError::Forbidden {
            field: None,
            reason,
        }
    }
}

/// A write that broke a unique index. Which identity clashed is found by
/// looking the values up again, not by reading driver message text.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A clash between concurrent transactions that trying again resolves: a
/// unique index taken meanwhile, or PostgreSQL aborting one side of a
/// deadlock (40P01) or a serialization failure (40001).
pub fn is_retryable(err: &DbErr) -> bool {
    is_unique_violation(err) || matches!(sqlstate(err).as_deref(), Some("40P01" | "40001"))
}

/// PostgreSQL cancelled a statement that ran past `statement_timeout`.
pub fn is_statement_timeout(err: &DbErr) -> bool {
    sqlstate(err).as_deref() == Some("57014")
}

/// The SQLSTATE code a database error carries.
fn sqlstate(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sea_orm::sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}
