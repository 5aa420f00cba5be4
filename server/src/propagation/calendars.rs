//! Guest lists of calendar events, kept in step with a contact's email:
//! read the event's attendees, swap the old address for the new one, write
//! the list back. Google Calendar API v3 (`events.get` / `events.patch` on
//! the token owner's primary calendar) and Microsoft Graph v1.0 (`GET` /
//! `PATCH /me/events/{id}`), each at a configurable base URL.

use serde_json::{Value, json};

use super::refusal::unreachable;
use super::target_guard;
use crate::domain::outbound_target::TargetPolicy;
use crate::store::integrations::Outcome;

/// What one guest-list change asks.
pub struct GuestChange {
    pub event_id: String,
    pub old_emails: Vec<String>,
    pub new_email: String,
}

impl GuestChange {
    pub fn from_payload(payload: &Value) -> Option<Self> {
        Some(Self {
            event_id: payload["eventId"].as_str()?.to_owned(),
            old_emails: payload["oldEmails"]
                .as_array()?
                .iter()
                .filter_map(|e| e.as_str().map(str::to_lowercase))
                .collect(),
            new_email: payload["newEmail"].as_str()?.to_owned(),
        })
    }

    fn is_old(&self, address: Option<&str>) -> bool {
        address.is_some_and(|a| self.old_emails.contains(&a.to_lowercase()))
    }
}

pub struct CalendarSender {
    client: reqwest::Client,
}

/// A refusal the API will repeat (a deleted event, a revoked token) is
/// final; anything else is retried with backoff.
fn failed(error: String, status: Option<reqwest::StatusCode>) -> Outcome {
    match status {
        Some(status) => Outcome::from_refusal(status.as_u16(), error, None),
        None => Outcome::Retry {
            error,
            status_code: None,
            retry_after: None,
        },
    }
}

impl CalendarSender {
    pub fn new(policy: TargetPolicy) -> Result<Self, String> {
        Ok(Self {
            client: target_guard::client(policy, "calendar")?,
        })
    }

    async fn get(&self, url: &str, token: &str) -> Result<Value, Outcome> {
        let response = self
            .client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("reading the event: {status}"), Some(status)));
        }
        response
            .json()
            .await
            .map_err(|e| failed(format!("reading the event: {e}"), None))
    }

    async fn patch(&self, url: &str, token: &str, body: &Value) -> Outcome {
        match self
            .client
            .patch(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => Outcome::Delivered {
                status_code: response.status().as_u16(),
            },
            Ok(response) => {
                let status = response.status();
                failed(format!("updating the event: {status}"), Some(status))
            }
            Err(err) => unreachable(err),
        }
    }

    pub async fn google(&self, base: &str, token: &str, change: &GuestChange) -> Outcome {
        let event = format!(
            "{base}/calendar/v3/calendars/primary/events/{}",
            super::path_segment(&change.event_id)
        );
        let current = match self.get(&event, token).await {
            Ok(current) => current,
            Err(outcome) => return outcome,
        };
        let mut attendees: Vec<Value> = current["attendees"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| !change.is_old(a["email"].as_str()))
            .collect();
        if !attendees
            .iter()
            .any(|a| a["email"] == change.new_email.as_str())
        {
            attendees.push(json!({ "email": change.new_email }));
        }
        // The new guest gets the invitation, and with it access to the event.
        let url = format!("{event}?sendUpdates=all");
        self.patch(&url, token, &json!({ "attendees": attendees }))
            .await
    }

    pub async fn microsoft(&self, base: &str, token: &str, change: &GuestChange) -> Outcome {
        let event = format!(
            "{base}/v1.0/me/events/{}",
            super::path_segment(&change.event_id)
        );
        let current = match self.get(&format!("{event}?$select=attendees"), token).await {
            Ok(current) => current,
            Err(outcome) => return outcome,
        };
        let before: Vec<Value> = current["attendees"].as_array().cloned().unwrap_or_default();
        let mut attendees: Vec<Value> = before
            .iter()
            .filter(|a| !change.is_old(a["emailAddress"]["address"].as_str()))
            .cloned()
            .collect();
        if attendees.len() == before.len() {
            return Outcome::Delivered { status_code: 200 };
        }
        if !attendees
            .iter()
            .any(|a| a["emailAddress"]["address"] == change.new_email.as_str())
        {
            attendees.push(json!({
                "emailAddress": { "address": change.new_email },
                "type": "required"
            }));
        }
        self.patch(&event, token, &json!({ "attendees": attendees }))
            .await
    }
}
