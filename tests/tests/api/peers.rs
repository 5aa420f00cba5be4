//! Real peers the server delivers to, started by the test on loopback: an
//! SMTP server that accepts every message, and an HTTP SMS gateway.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub recipients: Vec<String>,
    pub data: String,
}

impl Mail {
    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned()
    }
}

/// Polls `read` until `ready` holds or `timeout` passes; returns the last read.
pub async fn wait_until<T>(
    timeout: Duration,
    mut read: impl FnMut() -> T,
    ready: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let value = read();
        if ready(&value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub struct SmtpSink {
    pub url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let url = format!("smtp://{}", listener.local_addr().expect("address"));
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, store.clone()));
            }
        });
        Self { url, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.recipients.iter().any(|r| r == address))
            .collect()
    }
}

/// One SMTP conversation (RFC 5321, the commands lettre sends).
async fn session(socket: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut current = Mail::default();
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 sink\r\n"
        } else if upper.starts_with("MAIL FROM") {
            current = Mail::default();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO") {
            let address = line.split(['<', '>']).nth(1).unwrap_or_default().to_owned();
            current.recipients.push(address);
            b"250 OK\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 end with .\r\n").await;
            while let Ok(Some(data)) = lines.next_line().await {
                if data == "." {
                    break;
                }
                current.data.push_str(&data);
                current.data.push('\n');
            }
            if let Ok(mut all) = mails.lock() {
                all.push(std::mem::take(&mut current));
            }
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

#[derive(Default)]
struct Gateway {
    received: Mutex<Vec<Value>>,
    failures_left: Mutex<u32>,
}

/// An SMS gateway: records every JSON body; fails the first N calls.
pub struct SmsGateway {
    pub url: String,
    state: Arc<Gateway>,
}

impl SmsGateway {
    pub async fn start(fail_first: u32) -> Self {
        let state = Arc::new(Gateway {
            received: Mutex::new(Vec::new()),
            failures_left: Mutex::new(fail_first),
        });
        let app = axum::Router::new()
            .route("/sms", post(receive))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMS gateway");
        let url = format!("http://{}/sms", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    pub fn received(&self) -> Vec<Value> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    pub fn to(&self, phone: &str) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|m| m["to"] == phone)
            .collect()
    }
}

async fn receive(State(state): State<Arc<Gateway>>, Json(body): Json<Value>) -> StatusCode {
    if let Ok(mut left) = state.failures_left.lock()
        && *left > 0
    {
        *left -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if let Ok(mut received) = state.received.lock() {
        received.push(body);
    }
    StatusCode::OK
}
