//! Integrations (webhooks, calendars, CRMs) and their deliveries, as the
//! admin screens show them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: String,
    /// The schema's kind name (`WEBHOOK`, ...).
    pub kind: String,
    pub target_url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub created_at: String,
    /// The newest deliveries, newest first (as many as were asked for).
    pub deliveries: Vec<Delivery>,
}

impl Integration {
    /// Dead letters among the deliveries loaded.
    pub fn dead(&self) -> usize {
        self.deliveries
            .iter()
            .filter(|delivery| delivery.status == DeliveryStatus::Dead)
            .count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    pub next_attempt_at: String,
    pub delivered_at: Option<String>,
}

impl Delivery {
    /// A delivery worth sending again: given up on, or failing.
    pub fn has_failed(&self) -> bool {
        match self.status {
            DeliveryStatus::Dead => true,
            DeliveryStatus::Pending => self.last_error.is_some() || self.attempts > 0,
            DeliveryStatus::Delivered | DeliveryStatus::Other(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up on: a dead letter.
    Dead,
    /// A status added to the schema after this client was built.
    Other(String),
}

impl DeliveryStatus {
    pub fn name(&self) -> &str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Delivered => "DELIVERED",
            DeliveryStatus::Dead => "DEAD",
            DeliveryStatus::Other(other) => other,
        }
    }
}
