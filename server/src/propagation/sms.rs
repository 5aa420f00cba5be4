//! SMS through an HTTP gateway: `POST {url}` with a JSON body
//! `{"to": "+1…", "body": "…", "idempotencyKey": "notification-42"}`; any
//! 2xx is success.

use serde_json::json;

pub struct SmsSender {
    client: reqwest::Client,
    url: String,
}

impl SmsSender {
    pub fn new(url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            // Well inside a dispatcher's claim lease.
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| format!("SMS client: {e}"))?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }

    pub async fn send(&self, to: &str, body: &str, idempotency_key: &str) -> Result<(), String> {
        let response = self
            .client
            .post(&self.url)
            .json(&json!({ "to": to, "body": body, "idempotencyKey": idempotency_key }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("SMS gateway answered {}", response.status()))
        }
    }
}
