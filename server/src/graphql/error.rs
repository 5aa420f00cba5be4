//! The one place where errors of every layer become GraphQL errors. Each
//! carries `extensions.code`; `VALIDATION` and field-bound `FORBIDDEN` also
//! carry `extensions.field`. Internal errors are logged here and answered
//! with a fixed message, never their detail.

use async_graphql::ErrorExtensions;

use crate::domain::ValidationError;
use crate::domain::permissions::CANNOT_SAVE_CONTACT;
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub enum ApiError {
    Unauthenticated,
    Forbidden {
        field: Option<&'static str>,
        message: String,
    },
    NotFound,
    Validation(ValidationError),
    /// Several fields of one input break rules (never fewer than two).
    InvalidFields(Vec<ValidationError>),
    CannotSaveContact {
        field: &'static str,
    },
    Conflict(String),
    /// A conflict about one input field (an identity an undo would need).
    ConflictOn {
        field: &'static str,
        message: String,
    },
    /// The work ran past its deadline (the request's, or a statement's).
    Timeout,
    /// The caller has `limit` import jobs queued or running.
    TooManyJobs {
        limit: u64,
    },
    Internal,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden { .. } => "FORBIDDEN",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::Validation(_) | ApiError::InvalidFields(_) => "VALIDATION",
            ApiError::CannotSaveContact { .. } => "CANNOT_SAVE_CONTACT",
            ApiError::Conflict(_) | ApiError::ConflictOn { .. } => "CONFLICT",
            ApiError::Timeout => "TIMEOUT",
            ApiError::TooManyJobs { .. } => "TOO_MANY_JOBS",
            ApiError::Internal => "INTERNAL",
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            field: None,
            message: message.into(),
        }
    }

    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationError::new(field, message))
    }

    fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => "a valid bearer token is required".to_owned(),
            ApiError::Forbidden { message, .. } => message.clone(),
            ApiError::NotFound => "not found".to_owned(),
            ApiError::Validation(err) => err.to_string(),
            ApiError::InvalidFields(errors) => errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            ApiError::CannotSaveContact { .. } => CANNOT_SAVE_CONTACT.to_owned(),
            ApiError::Conflict(message) | ApiError::ConflictOn { message, .. } => message.clone(),
            ApiError::Timeout => {
                "the database gave up on this request: it took too long; ask for less at a time"
                    .to_owned()
            }
            ApiError::TooManyJobs { limit } => format!(
                "you have {limit} imports queued or running, the most allowed; \
                 wait for one to finish"
            ),
            ApiError::Internal => "internal error".to_owned(),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            ApiError::Validation(err) => Some(err.field),
            ApiError::InvalidFields(errors) => errors.first().map(|err| err.field),
            ApiError::Forbidden { field, .. } => *field,
            ApiError::CannotSaveContact { field } => Some(field),
            ApiError::ConflictOn { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Every bad field of an input: one error, whose `field` is the first and
/// whose `extensions.fieldErrors` lists each (`{ field, message }`).
impl From<Vec<ValidationError>> for ApiError {
    fn from(mut errors: Vec<ValidationError>) -> Self {
        match errors.len() {
            0 => ApiError::Internal,
            1 => ApiError::Validation(errors.swap_remove(0)),
            _ => ApiError::InvalidFields(errors),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        ApiError::Validation(err)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Validation(err) => ApiError::Validation(err),
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Forbidden { field, reason } => ApiError::Forbidden {
                field,
                message: reason.to_owned(),
            },
            err @ StoreError::FieldUnwritable { field, .. } => ApiError::Forbidden {
                field: Some(field),
                message: err.to_string(),
            },
            StoreError::CannotSaveContact { field } => ApiError::CannotSaveContact { field },
            StoreError::IdentityTaken { field } => ApiError::validation(
                field,
                "was just taken by another contact; try again to see the merge",
            ),
            StoreError::Conflict { expected } => ApiError::Conflict(format!(
                "the contact changed since version {expected}; reload it and try again"
            )),
            StoreError::TooManyJobs { limit } => ApiError::TooManyJobs { limit },
            StoreError::MergeConflict {
                field: Some(field),
                reason,
            } => ApiError::ConflictOn {
                field,
                message: reason,
            },
            StoreError::MergeConflict {
                field: None,
                reason,
            } => ApiError::Conflict(reason),
            StoreError::ClaimLost => {
                tracing::error!("an import job was claimed away mid-request");
                ApiError::Internal
            }
            err @ (StoreError::NoSecretKey | StoreError::Secret(_)) => {
                tracing::error!(error = %err, "integration secrets");
                ApiError::Internal
            }
            StoreError::Db(err) if crate::store::is_statement_timeout(&err) => {
                tracing::warn!(error = %err, "a statement ran past statement_timeout");
                ApiError::Timeout
            }
            StoreError::Db(err) => {
                tracing::error!(error = %err, "database error");
                ApiError::Internal
            }
        }
    }
}

/// A batched read's error, shared by every field the batch served. The
/// batcher logged it once; here it is only answered.
impl From<std::sync::Arc<StoreError>> for ApiError {
    fn from(err: std::sync::Arc<StoreError>) -> Self {
        match &*err {
            StoreError::Db(err) if crate::store::is_statement_timeout(err) => ApiError::Timeout,
            _ => ApiError::Internal,
        }
    }
}

impl From<crate::import::UploadError> for ApiError {
    fn from(err: crate::import::UploadError) -> Self {
        use crate::import::{FileError, UploadError};
        match err {
            UploadError::Store(err) => err.into(),
            UploadError::Validation(err) => ApiError::Validation(err),
            UploadError::File(FileError::Mapping(message)) => {
                ApiError::validation("mapping", message)
            }
            UploadError::File(unwritable @ FileError::Unwritable { .. }) => ApiError::Forbidden {
                field: Some("mapping"),
                message: unwritable.to_string(),
            },
            UploadError::File(FileError::Io { source, .. }) => {
                tracing::error!(error = %source, "reading an upload failed");
                ApiError::Internal
            }
            UploadError::File(other) => ApiError::validation("file", other.to_string()),
            UploadError::Checker(message) => {
                tracing::error!(error = %message, "checking an upload's header failed");
                ApiError::Internal
            }
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let field = err.field();
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", err.code());
            if let Some(field) = field {
                ext.set("field", field);
            }
            if let ApiError::TooManyJobs { limit } = err {
                ext.set("limit", limit);
            }
            if let ApiError::InvalidFields(errors) = &err {
                let list: Vec<async_graphql::Value> = errors
                    .iter()
                    .map(|e| {
                        let mut entry = async_graphql::indexmap::IndexMap::new();
                        entry.insert(async_graphql::Name::new("field"), e.field.into());
                        entry.insert(
                            async_graphql::Name::new("message"),
                            e.message.clone().into(),
                        );
                        async_graphql::Value::Object(entry)
                    })
                    .collect();
                ext.set("fieldErrors", list);
            }
        })
    }
}

/// What a resolver returns. Its error converts from every layer's error
/// by the `From` impls below, so `?` keeps `extensions.code`; with
/// `async_graphql::Result`, `?` on a store error would compile through
/// async-graphql's blanket conversion from any `Display` and lose it.
pub type ApiResult<T> = Result<T, ApiError>;
