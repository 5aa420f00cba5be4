//! Webhook deliveries (Zapier-style REST hooks). Each POST carries the
//! event id (receivers dedupe on it: delivery is at least once) and a
//! signature: `X-Contacts-Signature: t=<unix seconds>,v1=<hex>` where the
//! hex is HMAC-SHA256, keyed by the subscription's secret, of
//! `"<t>.<raw body>"`. A receiver recomputes it and compares, and may
//! refuse old timestamps to stop replays.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::refusal::{refused, unreachable};
use super::target_guard;
use crate::domain::outbound_target::TargetPolicy;
use crate::store::integrations::Outcome;

/// Hex HMAC-SHA256 of `message` keyed by `secret`.
fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The `v1` part of `X-Contacts-Signature` for a body sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    hmac_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes())
}

pub struct WebhookSender {
    client: reqwest::Client,
}

impl WebhookSender {
    pub fn new(policy: TargetPolicy) -> Result<Self, String> {
        Ok(Self {
            client: target_guard::client(policy, "webhook")?,
        })
    }

    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        event_id: i64,
        event_type: &str,
        created_at: i64,
        data: Value,
    ) -> Outcome {
        let id = format!("evt_{event_id}");
        let body = json!({
            "id": id,
            "type": event_type,
            "createdAt": chrono::DateTime::from_timestamp_micros(created_at).map(|t| t.to_rfc3339()),
            "data": data,
        })
        .to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signature = format!("t={timestamp},v1={}", sign(secret, timestamp, &body));
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("x-contacts-event", event_type)
            .header("x-contacts-event-id", &id)
            .header("x-contacts-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return unreachable(err),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Delivered {
                status_code: status.as_u16(),
            };
        }
        refused(&response, "subscriber answered")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        assert_eq!(sign("key", 1, "{}"), hmac_hex(b"key", b"1.{}"));
        assert_ne!(sign("key", 1, "{}"), sign("key", 2, "{}"));
    }
}
