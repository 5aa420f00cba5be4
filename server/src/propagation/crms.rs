//! CRMs told of a contact's new email or phone, each by its own
//! identification logic, so no duplicate appears there: look the record up
//! by the old identities (email first, then mobile phone), then by the new
//! ones, update what is found, create only when nothing matches.
//! HubSpot CRM v3 (`/crm/v3/objects/contacts`, search and PATCH by id) and
//! Salesforce REST (SOQL query, `sobjects/Contact`), each at a configurable
//! base URL with a bearer token. A 429 is honoured through Retry-After; a
//! HubSpot client keeps under its 100 requests per 10 s.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::store::integrations::Outcome;

const SALESFORCE_API: &str = "/services/data/v60.0";
const HUBSPOT_WINDOW: Duration = Duration::from_secs(10);
const HUBSPOT_REQUESTS_PER_WINDOW: usize = 100;

/// What a CRM is told: where to find its record and what it holds now.
pub struct CrmChange {
    old_emails: Vec<String>,
    old_phones: Vec<String>,
    contact: Value,
}

impl CrmChange {
    pub fn from_payload(payload: &Value) -> Option<Self> {
        let strings = |key: &str| -> Option<Vec<String>> {
            Some(
                payload[key]
                    .as_array()?
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            )
        };
        Some(Self {
            old_emails: strings("oldEmails")?,
            old_phones: strings("oldPhones")?,
            contact: payload.get("contact")?.clone(),
        })
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.contact[name].as_str()
    }

    /// Identities to look up, in order: old emails, old phones, then the
    /// current ones (the CRM may hold them already).
    fn lookups(&self) -> Vec<(bool, String)> {
        let mut lookups: Vec<(bool, String)> = Vec::new();
        lookups.extend(self.old_emails.iter().map(|e| (true, e.clone())));
        lookups.extend(self.old_phones.iter().map(|p| (false, p.clone())));
        if let Some(email) = self.field("email") {
            lookups.push((true, email.to_owned()));
        }
        if let Some(phone) = self.field("mobilePhone") {
            lookups.push((false, phone.to_owned()));
        }
        let mut seen = Vec::new();
        lookups.retain(|l| {
            let fresh = !seen.contains(l);
            seen.push(l.clone());
            fresh
        });
        lookups
    }
}

/// An HTTP answer that is not a success, as an outcome to retry.
fn refused(response: &reqwest::Response, what: &str) -> Outcome {
    let status = response.status();
    let retry_after = (status == reqwest::StatusCode::TOO_MANY_REQUESTS)
        .then(|| {
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(3600)))
        })
        .flatten();
    Outcome::Retry {
        error: format!("{what}: {status}"),
        status_code: Some(status.as_u16()),
        retry_after,
    }
}

fn unreachable(err: reqwest::Error) -> Outcome {
    Outcome::Retry {
        error: err.to_string(),
        status_code: None,
        retry_after: None,
    }
}

pub struct CrmSender {
    client: reqwest::Client,
    hubspot_calls: Mutex<VecDeque<Instant>>,
}

impl CrmSender {
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("CRM client: {e}"))?;
        Ok(Self {
            client,
            hubspot_calls: Mutex::new(VecDeque::new()),
        })
    }

    /// Waits until another HubSpot request fits in the rate window.
    async fn hubspot_slot(&self) {
        loop {
            let wait = {
                let mut calls = self.hubspot_calls.lock().await;
                while calls.front().is_some_and(|t| t.elapsed() >= HUBSPOT_WINDOW) {
                    calls.pop_front();
                }
                if calls.len() < HUBSPOT_REQUESTS_PER_WINDOW {
                    calls.push_back(Instant::now());
                    return;
                }
                calls
                    .front()
                    .map(|t| HUBSPOT_WINDOW.saturating_sub(t.elapsed()))
                    .unwrap_or_default()
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn hubspot_send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Value, Outcome> {
        self.hubspot_slot().await;
        let response = request.send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(refused(&response, what));
        }
        Ok(response.json().await.unwrap_or(Value::Null))
    }

    pub async fn hubspot(&self, base: &str, token: &str, change: &CrmChange) -> Outcome {
        let mut found = None;
        for (is_email, value) in change.lookups() {
            let property = if is_email { "email" } else { "mobilephone" };
            let body = json!({
                "filterGroups": [{ "filters": [{ "propertyName": property, "operator": "EQ", "value": value }] }],
                "properties": ["email", "mobilephone"],
                "limit": 1
            });
            let search = self
                .client
                .post(format!("{base}/crm/v3/objects/contacts/search"))
                .bearer_auth(token)
                .json(&body);
            match self.hubspot_send(search, "searching contacts").await {
                Ok(answer) => {
                    if let Some(id) = answer["results"][0]["id"].as_str() {
                        found = Some(id.to_owned());
                        break;
                    }
                }
                Err(outcome) => return outcome,
            }
        }
        let mut properties = Map::new();
        for (ours, theirs) in [
            ("email", "email"),
            ("mobilePhone", "mobilephone"),
            ("firstName", "firstname"),
            ("lastName", "lastname"),
            ("company", "company"),
            ("jobTitle", "jobtitle"),
        ] {
            if let Some(value) = change.field(ours) {
                properties.insert(theirs.to_owned(), json!(value));
            }
        }
        let body = json!({ "properties": properties });
        let request = match &found {
            Some(id) => self
                .client
                .patch(format!("{base}/crm/v3/objects/contacts/{id}"))
                .bearer_auth(token)
                .json(&body),
            None => self
                .client
                .post(format!("{base}/crm/v3/objects/contacts"))
                .bearer_auth(token)
                .json(&body),
        };
        match self.hubspot_send(request, "saving the contact").await {
            Ok(_) => Outcome::Delivered { status_code: 200 },
            Err(outcome) => outcome,
        }
    }

    pub async fn salesforce(&self, base: &str, token: &str, change: &CrmChange) -> Outcome {
        let mut found = None;
        for (is_email, value) in change.lookups() {
            let field = if is_email { "Email" } else { "MobilePhone" };
            let soql = format!(
                "SELECT Id FROM Contact WHERE {field} = '{}' LIMIT 1",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            );
            let response = match self
                .client
                .get(format!("{base}{SALESFORCE_API}/query"))
                .query(&[("q", soql)])
                .bearer_auth(token)
                .send()
                .await
            {
                Ok(response) => response,
                Err(err) => return unreachable(err),
            };
            if !response.status().is_success() {
                return refused(&response, "querying contacts");
            }
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if let Some(id) = answer["records"][0]["Id"].as_str() {
                found = Some(id.to_owned());
                break;
            }
        }
        let mut fields = Map::new();
        for (ours, theirs) in [
            ("email", "Email"),
            ("mobilePhone", "MobilePhone"),
            ("firstName", "FirstName"),
            ("lastName", "LastName"),
            ("jobTitle", "Title"),
        ] {
            if let Some(value) = change.field(ours) {
                fields.insert(theirs.to_owned(), json!(value));
            }
        }
        let request = match &found {
            Some(id) => self
                .client
                .patch(format!("{base}{SALESFORCE_API}/sobjects/Contact/{id}")),
            None => {
                // Salesforce requires a last name on every contact.
                fields
                    .entry("LastName")
                    .or_insert_with(|| json!("[not provided]"));
                self.client
                    .post(format!("{base}{SALESFORCE_API}/sobjects/Contact"))
            }
        };
        match request
            .bearer_auth(token)
            .json(&Value::Object(fields))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => Outcome::Delivered {
                status_code: response.status().as_u16(),
            },
            Ok(response) => refused(&response, "saving the contact"),
            Err(err) => unreachable(err),
        }
    }
}
