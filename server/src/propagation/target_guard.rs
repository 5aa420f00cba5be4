//! The outbound address rule (domain/outbound_target.rs) where the network
//! is: names are resolved when an integration is created, and again by the
//! connectors' HTTP client at every connection, through a resolver that
//! drops addresses the policy refuses. A name that pointed at a public
//! address when it was checked and at 127.0.0.1 a second later (DNS
//! rebinding) still reaches nothing inside.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::ValidationError;
use crate::domain::outbound_target::{CheckedTarget, TargetPolicy, TargetUrl};

/// How long a name may take to resolve when an integration is created.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connector's request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a delivery was not attempted: its host is, or now resolves to, an
/// address the policy refuses.
#[derive(Debug, Clone, thiserror::Error)]
#[error("refused: {host} {reason}; only public addresses are allowed")]
pub struct RefusedTarget {
    host: String,
    reason: String,
}

impl RefusedTarget {
    pub fn literal(ip: IpAddr) -> Self {
        Self {
            host: ip.to_string(),
            reason: "is a private or reserved address".to_owned(),
        }
    }

    fn resolved(host: &str, refused: &[IpAddr]) -> Self {
        let list: Vec<String> = refused.iter().map(IpAddr::to_string).collect();
        Self {
            host: host.to_owned(),
            reason: format!(
                "resolves only to private or reserved addresses ({})",
                list.join(", ")
            ),
        }
    }

    /// The refusal somewhere in an error's chain of causes (a client's
    /// error wraps its resolver's).
    pub fn in_chain<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a RefusedTarget> {
        let mut current = Some(err);
        while let Some(err) = current {
            if let Some(refused) = err.downcast_ref::<RefusedTarget>() {
                return Some(refused);
            }
            current = err.source();
        }
        None
    }
}

/// Resolves with the system resolver and keeps only the addresses the
/// policy admits; none left is an error, so the client never connects.
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver {
    policy: TargetPolicy,
}

impl PolicyResolver {
    pub fn new(policy: TargetPolicy) -> Self {
        Self { policy }
    }

    /// The addresses of `host` the policy admits. The outer error is a
    /// failed lookup (told as any unreachable peer); the inner one, a name
    /// whose every address was refused.
    pub async fn resolve_name(
        &self,
        host: &str,
    ) -> std::io::Result<Result<Vec<SocketAddr>, RefusedTarget>> {
        let all: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        let (kept, dropped): (Vec<SocketAddr>, Vec<SocketAddr>) = all
            .into_iter()
            .partition(|addr| self.policy.admits(addr.ip()));
        if kept.is_empty() && !dropped.is_empty() {
            let refused: Vec<IpAddr> = dropped.iter().map(SocketAddr::ip).collect();
            return Ok(Err(RefusedTarget::resolved(host, &refused)));
        }
        Ok(Ok(kept))
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = *self;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match resolver.resolve_name(&host).await? {
                Ok(kept) => {
                    let addrs: Addrs = Box::new(kept.into_iter());
                    Ok(addrs)
                }
                Err(refused) => Err(refused.into()),
            }
        })
    }
}

/// The HTTP client of webhooks, calendars and CRMs: every connection goes
/// through [`PolicyResolver`]; redirects are not followed (a 3xx could
/// point anywhere); proxies from the environment are not used, since a
/// proxy would resolve the name itself, past the rule.
pub fn client(policy: TargetPolicy, what: &str) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(PolicyResolver::new(policy)))
        .build()
        .map_err(|e| format!("{what} client: {e}"))
}

/// Checks a target URL an admin typed, resolving its name: every address
/// must pass. Refusals are validation errors on `field`.
pub async fn vet(
    field: &'static str,
    raw: &str,
    policy: TargetPolicy,
) -> Result<CheckedTarget, ValidationError> {
    let target = TargetUrl::parse(field, raw, policy)?;
    let resolved: Vec<IpAddr> = match target.lookup() {
        None => Vec::new(),
        Some((name, port)) => {
            let lookup =
                tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, port)));
            match lookup.await {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                Ok(Err(_)) => {
                    return Err(ValidationError::new(
                        field,
                        format!("{name} does not resolve; give a host name that does"),
                    ));
                }
                Err(_) => {
                    return Err(ValidationError::new(
                        field,
                        format!(
                            "{name} did not resolve within {} s",
                            LOOKUP_TIMEOUT.as_secs()
                        ),
                    ));
                }
            }
        }
    };
    target.accept(field, &resolved, policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_private: false,
    };
    const LENIENT: TargetPolicy = TargetPolicy {
        allow_private: true,
    };

    /// `localhost` stands in for a name that resolves inward: the strict
    /// resolver keeps none of its addresses, the lenient one all.
    #[tokio::test]
    async fn the_resolver_drops_refused_addresses() {
        let refused = PolicyResolver::new(STRICT)
            .resolve_name("localhost")
            .await
            .unwrap()
            .unwrap_err();
        assert!(refused.to_string().contains("127.0.0.1") || refused.to_string().contains("::1"));
        let kept = PolicyResolver::new(LENIENT)
            .resolve_name("localhost")
            .await
            .unwrap()
            .unwrap();
        assert!(kept.iter().all(|a| a.ip().is_loopback()) && !kept.is_empty());
    }

    /// The client never connects where its resolver refused, and the
    /// refusal can be told from a peer that is down.
    #[tokio::test]
    async fn a_client_request_to_a_name_resolving_inward_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
        let strict = client(STRICT, "test").unwrap();
        let err = strict
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let refused = RefusedTarget::in_chain(&err).expect("the resolver's refusal");
        assert!(
            refused.to_string().starts_with("refused: localhost"),
            "{refused}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!accepted.is_finished(), "nothing connected");
        accepted.abort();
    }

    #[tokio::test]
    async fn vetting_resolves_names() {
        let err = vet("baseUrl", "https://nothing.invalid/", STRICT)
            .await
            .unwrap_err();
        assert_eq!(err.field, "baseUrl");
        assert!(err.message.contains("does not resolve"), "{}", err.message);
        // With the flag, a name that resolves inward may take plain http.
        let checked = vet("baseUrl", "http://localhost:9/x", LENIENT)
            .await
            .unwrap();
        assert_eq!(checked.as_str(), "http://localhost:9/x");
        let err = vet("targetUrl", "https://10.0.0.1/", STRICT)
            .await
            .unwrap_err();
        assert!(err.message.contains("10.0.0.1"), "{}", err.message);
    }
}
