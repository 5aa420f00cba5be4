//! Where the server's own requests (webhooks, calendars, CRMs) may go. An
//! admin types the URL, so without a rule the server would call into its own
//! network for them: cloud metadata at 169.254.169.254, a database on
//! 127.0.0.1:5432, a router on 10.0.0.1, and report back the status code.
//! The rule: https, no credentials in the URL, and every address the host
//! stands for is public. Names are resolved elsewhere (this module does no
//! I/O); [`TargetPolicy::admits`] judges each address they resolve to, at
//! creation and again at connect time, so a name that later points inward
//! gets nowhere.
//!
//! `--allow-private-targets` lifts the address rule, and then allows plain
//! http to non-public addresses only: local stand-ins and relays.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

use super::validation::ValidationError;

const URL_MAX: usize = 2048;

/// IPv4 ranges that are not the public internet (IANA's special-purpose
/// registry, RFC 6890 and successors).
const REFUSED_V4: [Ipv4Net; 15] = [
    Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8), // "this network"
    Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8), // private
    Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10), // shared (CGNAT)
    Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8), // loopback
    Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16), // link-local, cloud metadata
    Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12), // private
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24), // IETF protocol assignments
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24), // documentation
    Ipv4Net::new_assert(Ipv4Addr::new(192, 88, 99, 0), 24), // 6to4 relay anycast
    Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16), // private
    Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15), // benchmarking
    Ipv4Net::new_assert(Ipv4Addr::new(198, 51, 100, 0), 24), // documentation
    Ipv4Net::new_assert(Ipv4Addr::new(203, 0, 113, 0), 24), // documentation
    Ipv4Net::new_assert(Ipv4Addr::new(224, 0, 0, 0), 4), // multicast
    Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4), // reserved, and 255.255.255.255 broadcast
];

/// Global unicast: every other IPv6 address (loopback, unspecified, ULA,
/// link-local, multicast, ...) is outside it.
const GLOBAL_V6: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

/// Parts of global unicast that are not the public internet.
const REFUSED_V6: [Ipv6Net; 3] = [
    // IETF protocol assignments: Teredo (an IPv4 address in disguise),
    // benchmarking, ORCHID.
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    Ipv6Net::new_assert(Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
];

/// IPv6 forms that carry an IPv4 address: judged by that address.
const IPV4_MAPPED: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);
const IPV4_COMPATIBLE: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96);
const NAT64: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
const SIX_TO_FOUR: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

/// Whether `ip` is an address of the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !REFUSED_V4.iter().any(|net| net.contains(&v4)),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => GLOBAL_V6.contains(&v6) && !REFUSED_V6.iter().any(|net| net.contains(&v6)),
        },
    }
}

/// The IPv4 address an IPv6 address stands for, in the forms a packet to
/// it reaches that IPv4 address: mapped, compatible, NAT64, 6to4.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = v6.to_bits();
    if IPV4_MAPPED.contains(&v6) || IPV4_COMPATIBLE.contains(&v6) || NAT64.contains(&v6) {
        // The low 32 bits; the truncation is the point.
        return Some(Ipv4Addr::from_bits(bits as u32));
    }
    if SIX_TO_FOUR.contains(&v6) {
        return Some(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    None
}

/// Names that only mean something inside a network, refused without
/// asking DNS: `localhost` (RFC 6761), `.internal` (cloud metadata such as
/// metadata.google.internal), `.local` (mDNS), `.home.arpa` (RFC 8375), and
/// single labels, which a resolver completes with the host's search domains.
pub fn is_internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let suffixed = |suffix: &str| host == suffix || host.ends_with(&format!(".{suffix}"));
    !host.contains('.')
        || ["localhost", "internal", "local", "home.arpa"]
            .into_iter()
            .any(suffixed)
}

/// What an operator allows beyond the public internet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// `--allow-private-targets`: any address, and plain http to
    /// non-public ones.
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Whether a request may connect to `ip`.
    pub fn admits(self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }
}

/// Whom a target URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetHost {
    Ip(IpAddr),
    /// A DNS name, to be resolved and each of its addresses judged.
    Name(String),
}

/// A target URL that passed every rule that needs no DNS. A
/// [`TargetHost::Name`] still has to resolve to addresses the policy admits
/// (and, for plain http, to non-public ones only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl {
    url: Url,
    host: TargetHost,
}

impl TargetUrl {
    /// Applies the rules to a URL an admin typed, refusing with a
    /// validation error on `field`.
    pub fn parse(
        field: &'static str,
        raw: &str,
        policy: TargetPolicy,
    ) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        if raw.len() > URL_MAX {
            return Err(ValidationError::new(
                field,
                format!("must be at most {URL_MAX} characters"),
            ));
        }
        let url = Url::parse(raw).map_err(|_| ValidationError::new(field, "is not a URL"))?;
        let plain_http = match url.scheme() {
            "https" => false,
            "http" if policy.allow_private => true,
            _ => return Err(ValidationError::new(field, "must be an https URL")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValidationError::new(
                field,
                "must not carry credentials (user:password@); the integration's token is sent for you",
            ));
        }
        let host = match url.host() {
            Some(Host::Ipv4(v4)) => TargetHost::Ip(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => TargetHost::Ip(IpAddr::V6(v6)),
            Some(Host::Domain(name)) => TargetHost::Name(name.to_owned()),
            None => return Err(ValidationError::new(field, "must name a host")),
        };
        match &host {
            TargetHost::Ip(ip) => check_address(field, *ip, policy, plain_http)?,
            TargetHost::Name(name) if !policy.allow_private && is_internal_name(name) => {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "{name} is a name internal to a network; only public hosts are allowed"
                    ),
                ));
            }
            TargetHost::Name(_) => {}
        }
        Ok(Self { url, host })
    }

    pub fn host(&self) -> &TargetHost {
        &self.host
    }

    /// The port requests go to, the scheme's own when none is written.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }

    pub fn is_plain_http(&self) -> bool {
        self.url.scheme() == "http"
    }

    /// The name to resolve and the port, unless the host is an address.
    pub fn lookup(&self) -> Option<(&str, u16)> {
        match &self.host {
            TargetHost::Name(name) => Some((name, self.port())),
            TargetHost::Ip(_) => None,
        }
    }

    /// The target, once the addresses its name resolved to passed: every
    /// one must, or a connection could land on the one that did not. An IP
    /// literal was judged by [`TargetUrl::parse`]; `resolved` is not read.
    pub fn accept(
        self,
        field: &'static str,
        resolved: &[IpAddr],
        policy: TargetPolicy,
    ) -> Result<CheckedTarget, ValidationError> {
        if let TargetHost::Name(name) = &self.host {
            if resolved.is_empty() {
                return Err(ValidationError::new(
                    field,
                    format!("{name} does not resolve to any address"),
                ));
            }
            let plain_http = self.is_plain_http();
            for ip in resolved {
                check_address(field, *ip, policy, plain_http)?;
            }
        }
        Ok(CheckedTarget(self.url.into()))
    }
}

/// A target URL that passed the rules when it was created, as stored.
/// Connect-time checks still apply: a name may point elsewhere later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTarget(String);

impl CheckedTarget {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The address of a stored target URL whose host is an IP literal the
/// policy refuses: checked before each delivery, since a client asks its
/// resolver only about names.
pub fn refused_literal(url: &str, policy: TargetPolicy) -> Option<IpAddr> {
    let ip = match Url::parse(url).ok()?.host()? {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(_) => return None,
    };
    (!policy.admits(ip)).then_some(ip)
}

fn check_address(
    field: &'static str,
    ip: IpAddr,
    policy: TargetPolicy,
    plain_http: bool,
) -> Result<(), ValidationError> {
    if !policy.admits(ip) {
        return Err(ValidationError::new(
            field,
            format!(
                "points to {ip}, a private or reserved address; only public addresses are allowed"
            ),
        ));
    }
    if plain_http && is_public(ip) {
        return Err(ValidationError::new(
            field,
            format!("plain http to {ip}, a public address: use https"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_private: false,
    };
    const LENIENT: TargetPolicy = TargetPolicy {
        allow_private: true,
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_refused() {
        for text in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "2001:2::1",
            "3fff::1",
            "100::1",
            "64:ff9b:1::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(!is_public(ip(text)), "{text} passed");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(text)), "{text} refused");
        }
    }

    proptest! {
        /// Every address inside a refused IPv4 range is refused, whatever
        /// its host bits, and so are its IPv6 disguises.
        #[test]
        fn refused_ranges_hold_for_every_host(range in 0..REFUSED_V4.len(), bits: u32) {
            let net = REFUSED_V4[range];
            let host = Ipv4Addr::from_bits(
                (net.network().to_bits() & net.netmask().to_bits()) | (bits & net.hostmask().to_bits()),
            );
            prop_assert!(!is_public(IpAddr::V4(host)));
            prop_assert!(!is_public(IpAddr::V6(host.to_ipv6_mapped())));
            prop_assert!(!is_public(IpAddr::V6(Ipv6Addr::from_bits(NAT64.network().to_bits() | u128::from(host.to_bits())))));
        }

        /// An IPv6 form of an IPv4 address is judged as that address.
        #[test]
        fn disguises_share_their_address_verdict(bits: u32) {
            let v4 = Ipv4Addr::from_bits(bits);
            let verdict = is_public(IpAddr::V4(v4));
            prop_assert_eq!(is_public(IpAddr::V6(v4.to_ipv6_mapped())), verdict);
            prop_assert_eq!(
                is_public(IpAddr::V6(Ipv6Addr::from_bits(NAT64.network().to_bits() | u128::from(bits)))),
                verdict
            );
            prop_assert_eq!(
                is_public(IpAddr::V6(Ipv6Addr::from_bits((0x2002u128 << 112) | (u128::from(bits) << 80)))),
                verdict
            );
        }

        /// Outside 2000::/3 nothing in IPv6 is public but the IPv4 forms.
        #[test]
        fn ipv6_outside_global_unicast_is_refused(bits: u128) {
            let v6 = Ipv6Addr::from_bits(bits);
            prop_assume!(!GLOBAL_V6.contains(&v6) && embedded_v4(v6).is_none());
            prop_assert!(!is_public(IpAddr::V6(v6)));
        }

        #[test]
        fn the_policy_admits_everything_when_lenient(bits: u128) {
            prop_assert!(LENIENT.admits(IpAddr::V6(Ipv6Addr::from_bits(bits))));
        }
    }

    fn refused(raw: &str, policy: TargetPolicy) -> String {
        match TargetUrl::parse("targetUrl", raw, policy) {
            Ok(url) => panic!("{raw} passed as {url:?}"),
            Err(err) => {
                assert_eq!(err.field, "targetUrl");
                err.message
            }
        }
    }

    #[test]
    fn urls_of_the_report_are_refused() {
        for raw in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1",
            "https://[fd00::1]/hook",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://127.0.0.1:5432",
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "https://localhost/hook",
            "https://api.localhost",
            "https://printer.local",
            "https://nas.home.arpa",
            "https://intranet",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            // WHATWG host parsing reads these as 127.0.0.1.
            "https://2130706433/",
            "https://0x7f.1/",
            "https://127.1/",
        ] {
            refused(raw, STRICT);
        }
    }

    #[test]
    fn only_https_without_credentials() {
        assert!(refused("ftp://example.com", STRICT).contains("https"));
        assert!(refused("http://example.com/hook", STRICT).contains("https"));
        assert!(refused("https://user:pw@example.com/hook", STRICT).contains("credentials"));
        assert!(refused("https://token@example.com/hook", STRICT).contains("credentials"));
        assert!(refused("https://user:pw@127.0.0.1/", LENIENT).contains("credentials"));
        assert!(refused("not a url", STRICT).contains("URL"));
        let long = format!("https://example.com/{}", "x".repeat(URL_MAX));
        assert!(refused(&long, STRICT).contains("at most"));
    }

    #[test]
    fn public_https_targets_pass() {
        let url =
            TargetUrl::parse("targetUrl", " https://hooks.example.com/x?y=1 ", STRICT).unwrap();
        assert_eq!(url.host(), &TargetHost::Name("hooks.example.com".into()));
        assert_eq!(url.port(), 443);
        assert_eq!(
            url.accept("targetUrl", &[ip("93.184.216.34")], STRICT)
                .unwrap()
                .as_str(),
            "https://hooks.example.com/x?y=1"
        );
        let literal = TargetUrl::parse("baseUrl", "https://8.8.8.8:8443", STRICT).unwrap();
        assert_eq!(literal.host(), &TargetHost::Ip(ip("8.8.8.8")));
        assert_eq!(literal.port(), 8443);
    }

    #[test]
    fn the_flag_allows_private_addresses_and_plain_http_to_them_only() {
        for raw in [
            "http://127.0.0.1:8080/hook",
            "https://10.0.0.1",
            "http://[::1]:9/",
            "http://localhost:8080",
        ] {
            TargetUrl::parse("targetUrl", raw, LENIENT).unwrap();
        }
        assert!(refused("http://8.8.8.8/hook", LENIENT).contains("use https"));
    }

    #[test]
    fn every_resolved_address_must_pass() {
        let url = || TargetUrl::parse("baseUrl", "https://rebind.example.com", STRICT).unwrap();
        assert_eq!(url().lookup(), Some(("rebind.example.com", 443)));
        let checked = url()
            .accept("baseUrl", &[ip("93.184.216.34")], STRICT)
            .unwrap();
        assert_eq!(checked.as_str(), "https://rebind.example.com/");
        let err = url()
            .accept("baseUrl", &[ip("93.184.216.34"), ip("10.1.2.3")], STRICT)
            .unwrap_err();
        assert_eq!(err.field, "baseUrl");
        assert!(err.message.contains("10.1.2.3"), "{}", err.message);
        let err = url().accept("baseUrl", &[], STRICT).unwrap_err();
        assert!(err.message.contains("does not resolve"), "{}", err.message);
        url().accept("baseUrl", &[ip("10.1.2.3")], LENIENT).unwrap();
        let http = || TargetUrl::parse("baseUrl", "http://stand-in.example.com", LENIENT).unwrap();
        http()
            .accept("baseUrl", &[ip("127.0.0.1")], LENIENT)
            .unwrap();
        assert!(http().accept("baseUrl", &[ip("8.8.8.8")], LENIENT).is_err());
    }

    #[test]
    fn stored_literals_are_judged_again_before_delivery() {
        assert_eq!(
            refused_literal("http://127.0.0.1:8080/hook", STRICT),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            refused_literal("https://[::ffff:a9fe:a9fe]/", STRICT),
            Some(ip("::ffff:169.254.169.254"))
        );
        assert_eq!(refused_literal("http://127.0.0.1:8080/hook", LENIENT), None);
        assert_eq!(refused_literal("https://8.8.8.8/", STRICT), None);
        assert_eq!(refused_literal("https://localhost/", STRICT), None);
    }

    #[test]
    fn an_address_literal_needs_no_lookup() {
        let url = TargetUrl::parse("targetUrl", "https://8.8.8.8/hook", STRICT).unwrap();
        assert_eq!(url.lookup(), None);
        assert_eq!(
            url.accept("targetUrl", &[], STRICT).unwrap().as_str(),
            "https://8.8.8.8/hook"
        );
    }
}
