//! Email over SMTP (lettre).

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Well inside a dispatcher's claim lease.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl EmailSender {
    /// `url` is `smtp://host[:port]` (default port 25). The connection is
    /// plain: this build has no TLS, so point it at a local relay.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("SMTP URL {url:?}: {e}"))?;
        if parsed.scheme() != "smtp" {
            return Err(format!("SMTP URL {url:?}: only smtp:// is supported"));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("SMTP URL {url:?} has no host"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(parsed.port().unwrap_or(25))
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("sender address {from:?}: {e}"))?;
        Ok(Self { transport, from })
    }

    /// `message_id` is stable per notification, so a message sent twice
    /// after a crash is recognisably the same one.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        message_id: &str,
    ) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.to_owned()))
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
