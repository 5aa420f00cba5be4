//! Pure rules: what a valid identity is, what an edit of a contact changes,
//! who may do what. Nothing here touches the database or GraphQL, so every
//! rule can be tested on plain values.

pub mod activity;
pub mod contact;
pub mod field_policy;
pub mod global_id;
pub mod identity;
pub mod import_mapping;
pub mod import_plan;
pub mod merge_plan;
pub mod outbound_target;
pub mod permissions;
pub mod search;
pub mod validation;

pub use contact::{ContactFields, ContactPatch, ContactRecord, FieldChange, Source};
pub use identity::{Email, Phone, PhoneRegion};
pub use permissions::{Access, Principal, Role};
pub use validation::ValidationError;
