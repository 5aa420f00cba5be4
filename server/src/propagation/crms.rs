//! CRMs told of a contact's new email or phone, each by its own
//! identification logic, so no duplicate appears there: look the record up
//! by the old identities (email first, then mobile phone), then by the new
//! ones, update what is found, create only when nothing matches.
//! HubSpot CRM v3 (`/crm/v3/objects/contacts`, search and PATCH by id) and
//! Salesforce REST (SOQL query, `sobjects/Contact`), each at a configurable
//! base URL with a bearer token. HubSpot emails are read by id property
//! (`GET /crm/v3/objects/contacts/{email}?idProperty=email`), which sees a
//! record at once, where the search index lags and would let a quick second
//! change create a duplicate. A 429 is honoured through Retry-After, and
//! each HubSpot token is kept under 4 requests a second (its search limit).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::refusal::{refused, unreachable};
use super::target_guard;
use crate::domain::outbound_target::TargetPolicy;
use crate::store::integrations::Outcome;

const SALESFORCE_API: &str = "/services/data/v60.0";
const HUBSPOT_WINDOW: Duration = Duration::from_secs(1);
const HUBSPOT_REQUESTS_PER_WINDOW: usize = 4;

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

    /// Whether `name` is an identity the contact had and no longer has.
    fn cleared(&self, name: &str) -> bool {
        let had = match name {
            "email" => &self.old_emails,
            "mobilePhone" => &self.old_phones,
            _ => return false,
        };
        !had.is_empty() && self.field(name).is_none()
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

pub struct CrmSender {
    client: reqwest::Client,
    /// Recent HubSpot calls, per token.
    hubspot_calls: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl CrmSender {
    pub fn new(policy: TargetPolicy) -> Result<Self, String> {
        Ok(Self {
            client: target_guard::client(policy, "CRM")?,
            hubspot_calls: Mutex::new(HashMap::new()),
        })
    }

    /// Waits until another request with `token` fits in its rate window.
    async fn hubspot_slot(&self, token: &str) {
        loop {
            let wait = {
                let mut all = self.hubspot_calls.lock().await;
                let calls = all.entry(token.to_owned()).or_default();
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

    /// Sends a HubSpot request within the token's rate; `None` for 404.
    async fn hubspot_send(
        &self,
        token: &str,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Option<Value>, Outcome> {
        self.hubspot_slot(token).await;
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(refused(&response, what));
        }
        Ok(Some(response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn hubspot(&self, base: &str, token: &str, change: &CrmChange) -> Outcome {
        let mut found = None;
        for (is_email, value) in change.lookups() {
            let lookup = if is_email {
                self.client.get(format!(
                    "{base}/crm/v3/objects/contacts/{}?idProperty=email",
                    super::path_segment(&value)
                ))
            } else {
                self.client
                    .post(format!("{base}/crm/v3/objects/contacts/search"))
                    .json(&json!({
                        "filterGroups": [{ "filters": [
                            { "propertyName": "mobilephone", "operator": "EQ", "value": value }
                        ] }],
                        "properties": ["email", "mobilephone"],
                        "limit": 1
                    }))
            };
            match self
                .hubspot_send(token, lookup, "looking the contact up")
                .await
            {
                Ok(Some(answer)) => {
                    let id = answer["id"]
                        .as_str()
                        .or_else(|| answer["results"][0]["id"].as_str());
                    if let Some(id) = id {
                        found = Some(id.to_owned());
                        break;
                    }
                }
                Ok(None) => {}
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
            match change.field(ours) {
                Some(value) => {
                    properties.insert(theirs.to_owned(), json!(value));
                }
                // An identity the contact no longer has is cleared there
                // too (HubSpot clears a property set to ""), so the CRM
                // does not keep reaching an address the customer took back.
                None if change.cleared(ours) => {
                    properties.insert(theirs.to_owned(), json!(""));
                }
                None => {}
            }
        }
        let body = json!({ "properties": properties });
        let request = match &found {
            Some(id) => self
                .client
                .patch(format!(
                    "{base}/crm/v3/objects/contacts/{}",
                    super::path_segment(id)
                ))
                .json(&body),
            None => self
                .client
                .post(format!("{base}/crm/v3/objects/contacts"))
                .json(&body),
        };
        match self
            .hubspot_send(token, request, "saving the contact")
            .await
        {
            Ok(Some(_)) => Outcome::Delivered { status_code: 200 },
            Ok(None) => Outcome::Rejected {
                error: "saving the contact: 404 Not Found".to_owned(),
                status_code: 404,
            },
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
            match change.field(ours) {
                Some(value) => {
                    fields.insert(theirs.to_owned(), json!(value));
                }
                // Salesforce clears a field set to null.
                None if change.cleared(ours) => {
                    fields.insert(theirs.to_owned(), Value::Null);
                }
                None => {}
            }
        }
        let request = match &found {
            Some(id) => self.client.patch(format!(
                "{base}{SALESFORCE_API}/sobjects/Contact/{}",
                super::path_segment(id)
            )),
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
