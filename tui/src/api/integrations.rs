//! The admin calls about integrations and their deliveries.

use super::{ApiClient, ApiError, operations};
use crate::model::{Delivery, DeliveryStatus, Integration};

/// How many of each integration's newest deliveries are read: the most
/// the server gives (`deliveries(first:)` has no cursor, so older ones,
/// dead letters among them, are out of reach).
pub const DELIVERIES: i64 = 100;

/// Reads a delivery of either operation; the generated copies have the
/// same shape but their own types.
macro_rules! delivery {
    ($op:ident, $delivery:expr) => {{
        let delivery = $delivery;
        Delivery {
            id: delivery.id,
            event_id: delivery.event_id,
            event_type: delivery.event_type,
            status: match delivery.status {
                $op::DeliveryStatus::PENDING => DeliveryStatus::Pending,
                $op::DeliveryStatus::DELIVERED => DeliveryStatus::Delivered,
                $op::DeliveryStatus::DEAD => DeliveryStatus::Dead,
                $op::DeliveryStatus::Other(other) => DeliveryStatus::Other(other),
            },
            attempts: delivery.attempts,
            last_error: delivery.last_error,
            last_status_code: delivery.last_status_code,
            next_attempt_at: delivery.next_attempt_at,
            delivered_at: delivery.delivered_at,
        }
    }};
}

impl ApiClient {
    pub async fn integrations(&self) -> Result<Vec<Integration>, ApiError> {
        use operations::integrations as op;
        let variables = op::Variables {
            deliveries: DELIVERIES,
        };
        let data = self.run::<operations::Integrations>(variables).await?;
        Ok(data
            .integrations
            .into_iter()
            .map(|integration| Integration {
                id: integration.id,
                kind: super::enum_name(&integration.kind),
                target_url: integration.target_url,
                events: integration.events,
                active: integration.active,
                created_at: integration.created_at,
                deliveries: integration
                    .deliveries
                    .into_iter()
                    .map(|delivery| delivery!(op, delivery))
                    .collect(),
            })
            .collect())
    }

    /// Returns the id of the integration disconnected.
    pub async fn disconnect_integration(&self, id: &str) -> Result<String, ApiError> {
        use operations::disconnect_integration as op;
        let variables = op::Variables { id: id.to_owned() };
        let data = self
            .run::<operations::DisconnectIntegration>(variables)
            .await?;
        Ok(data.disconnect_integration.disconnected_integration_id)
    }

    /// Queues a failed or dead delivery again; returns it as queued.
    pub async fn redeliver(&self, delivery_id: &str) -> Result<Delivery, ApiError> {
        use operations::redeliver as op;
        let variables = op::Variables {
            delivery_id: delivery_id.to_owned(),
        };
        let data = self.run::<operations::Redeliver>(variables).await?;
        Ok(delivery!(op, data.redeliver))
    }
}
