//! What can go wrong with a request, sorted by what the screen does about
//! it: the server's `extensions.code` decides, never the message text.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer at all: refused connection, DNS, timeout.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// HTTP 401 or `UNAUTHENTICATED`: no token, or one the server does not know.
    #[error("the server refused the token")]
    Unauthenticated,
    /// `VALIDATION`: one entry per error; `field` is the `ContactInput` name.
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    /// `CANNOT_SAVE_CONTACT`: the identity belongs to a contact the caller
    /// cannot access. `field` is the input field that clashed, if named.
    #[error("cannot save contact")]
    CannotSave { field: Option<String> },
    /// `CONFLICT`: the record changed since it was read.
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    /// Anything else, `INTERNAL` included; the message is the server's.
    #[error("{0}")]
    Server(String),
    /// The file to upload cannot be read; nothing was sent.
    #[error("{0}")]
    File(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    /// Errors that mean no screen can work until the user does something
    /// about the server or the token.
    pub fn is_connection_problem(&self) -> bool {
        matches!(self, ApiError::Unreachable(_) | ApiError::Unauthenticated)
    }

    /// Sorts a non-empty GraphQL `errors` list. The most specific code wins:
    /// one refused token makes the whole answer unauthenticated.
    pub fn from_graphql(errors: &[graphql_client::Error]) -> ApiError {
        let code_of = |error: &graphql_client::Error| -> String {
            extension(&error.extensions, "code").unwrap_or_default()
        };
        if errors.iter().any(|e| code_of(e) == "UNAUTHENTICATED") {
            return ApiError::Unauthenticated;
        }
        if let Some(error) = errors.iter().find(|e| code_of(e) == "CANNOT_SAVE_CONTACT") {
            return ApiError::CannotSave {
                field: extension(&error.extensions, "field"),
            };
        }
        let validation: Vec<FieldError> = errors
            .iter()
            .filter(|e| code_of(e) == "VALIDATION")
            .flat_map(field_errors)
            .collect();
        if !validation.is_empty() {
            return ApiError::Validation(validation);
        }
        let Some(first) = errors.first() else {
            return ApiError::Server("the server answered with an empty error list".to_owned());
        };
        match code_of(first).as_str() {
            "CONFLICT" => ApiError::Conflict(first.message.clone()),
            "NOT_FOUND" => ApiError::NotFound,
            "FORBIDDEN" => ApiError::Forbidden(first.message.clone()),
            _ => ApiError::Server(first.message.clone()),
        }
    }
}

/// One `VALIDATION` error's fields: the server names every bad field of an
/// input in `extensions.fieldErrors` (`{ field, message }`) when there are
/// several, and in `extensions.field` when there is one.
fn field_errors(error: &graphql_client::Error) -> Vec<FieldError> {
    let listed = error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("fieldErrors"))
        .and_then(Value::as_array);
    match listed {
        Some(list) => list
            .iter()
            .map(|entry| {
                let field = entry.get("field").and_then(Value::as_str);
                let message = entry.get("message").and_then(Value::as_str).unwrap_or("");
                FieldError {
                    field: field.map(str::to_owned),
                    message: match field {
                        Some(field) => format!("{field}: {message}"),
                        None => message.to_owned(),
                    },
                }
            })
            .collect(),
        None => vec![FieldError {
            field: extension(&error.extensions, "field"),
            message: error.message.clone(),
        }],
    }
}

fn extension(extensions: &Option<HashMap<String, Value>>, key: &str) -> Option<String> {
    extensions.as_ref()?.get(key)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(message: &str, extensions: Value) -> graphql_client::Error {
        serde_json::from_value(serde_json::json!({ "message": message, "extensions": extensions }))
            .unwrap_or_else(|err| panic!("test error literal: {err}"))
    }

    #[test]
    fn codes_decide_the_kind() {
        let refused = [error(
            "no",
            serde_json::json!({ "code": "UNAUTHENTICATED" }),
        )];
        assert_eq!(ApiError::from_graphql(&refused), ApiError::Unauthenticated);

        let invalid = [error(
            "not an email",
            serde_json::json!({ "code": "VALIDATION", "field": "email" }),
        )];
        assert_eq!(
            ApiError::from_graphql(&invalid),
            ApiError::Validation(vec![FieldError {
                field: Some("email".into()),
                message: "not an email".into()
            }])
        );

        let several = [error(
            "email: not an email; mobilePhone: is not a phone number",
            serde_json::json!({ "code": "VALIDATION", "field": "email", "fieldErrors": [
                { "field": "email", "message": "not an email" },
                { "field": "mobilePhone", "message": "is not a phone number" },
            ] }),
        )];
        assert_eq!(
            ApiError::from_graphql(&several),
            ApiError::Validation(vec![
                FieldError {
                    field: Some("email".into()),
                    message: "email: not an email".into()
                },
                FieldError {
                    field: Some("mobilePhone".into()),
                    message: "mobilePhone: is not a phone number".into()
                },
            ])
        );

        let blocked = [error(
            "Cannot save contact",
            serde_json::json!({ "code": "CANNOT_SAVE_CONTACT", "field": "mobilePhone" }),
        )];
        assert_eq!(
            ApiError::from_graphql(&blocked),
            ApiError::CannotSave {
                field: Some("mobilePhone".into())
            }
        );

        let odd = [error("boom", serde_json::json!({}))];
        assert_eq!(
            ApiError::from_graphql(&odd),
            ApiError::Server("boom".into())
        );
    }
}
