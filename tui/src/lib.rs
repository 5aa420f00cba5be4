//! The contacts admin terminal client (its own issue).
