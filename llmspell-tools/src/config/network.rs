//! The network policy of the web tools: which addresses outbound requests
//! may reach, and the limits of the shared HTTP client.
// The checks are used by the web tools only (feature `network`).
#![cfg_attr(not(feature = "network"), allow(dead_code))]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::IpNet;

use super::rule;

/// Host names refused by name (cloud instance metadata services), unless
/// allow-listed.
const METADATA_HOSTS: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Where the web tools (`http_request`, `web_scraper`, ...) may send
/// requests, and the limits of their shared HTTP client.
///
/// By default every public address is reachable and these are refused, each
/// by its own rule ([`ToolError::PolicyViolation`](crate::ToolError::PolicyViolation)):
///
/// | rule | addresses |
/// |---|---|
/// | `cloud_metadata` | `169.254.169.254`, `fd00:ec2::254`, `metadata.google.internal` (by name) |
/// | `loopback_address` | `127.0.0.0/8`, `::1` |
/// | `private_address` | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fc00::/7` (ULA) |
/// | `link_local_address` | `169.254.0.0/16`, `fe80::/10` |
/// | `shared_address` | `100.64.0.0/10` (carrier-grade NAT) |
/// | `unspecified_address` | `0.0.0.0/8`, `::`, broadcast and multicast |
///
/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are judged as the IPv4
/// address they carry. The check runs on the addresses a host name
/// *resolves to* (so a public-looking name that resolves to `127.0.0.1` is
/// refused) and again for every redirect target.
///
/// A host in [`allowed_hosts`](Self::allowed_hosts) (a name, matched
/// case-insensitively, or an IP address) or an address inside one of
/// [`allowed_cidrs`](Self::allowed_cidrs) is reachable whatever its range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Host names and IP addresses reachable whatever they resolve to.
    pub allowed_hosts: BTreeSet<String>,
    /// Address ranges reachable whatever their kind.
    pub allowed_cidrs: Vec<IpNet>,
    /// Fixed answers for host names, used instead of DNS (like
    /// `/etc/hosts`); the answers are checked like any other.
    pub static_hosts: BTreeMap<String, Vec<IpAddr>>,
    /// Default and longest time of one request, from connect to the end of
    /// the body.
    pub timeout: Duration,
    /// Largest response body read; a longer body is an error.
    pub max_response_bytes: u64,
    /// Most redirects followed per request (each target checked).
    pub max_redirects: usize,
    /// Most retries a call may ask for (`http_request`, `webhook_caller`).
    pub max_retries: u32,
    /// Longest wait before a retry (a longer `Retry-After` ends the retries).
    pub max_retry_wait: Duration,
    /// The `User-Agent` header of every request.
    pub user_agent: String,
}

impl Default for NetworkPolicy {
    /// Public addresses only; 30 s per request; 10 MiB bodies; 5 redirects;
    /// at most 5 retries, waiting at most 30 s each.
    fn default() -> Self {
        Self {
            allowed_hosts: BTreeSet::new(),
            allowed_cidrs: Vec::new(),
            static_hosts: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            max_response_bytes: 10 << 20,
            max_redirects: 5,
            max_retries: 5,
            max_retry_wait: Duration::from_secs(30),
            user_agent: concat!("llmspell/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A `web_search` provider: which search API, where, with which key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchProviderConfig {
    /// A [SearXNG](https://docs.searxng.org) instance's JSON API
    /// (`GET {base_url}/search?q=...&format=json`; the instance must have
    /// the `json` format enabled).
    SearXng {
        /// The instance, e.g. `https://searx.example.org`.
        base_url: String,
    },
    /// The Brave Search API (`GET {base_url}/res/v1/web/search?q=...`,
    /// header `X-Subscription-Token`).
    Brave {
        /// `https://api.search.brave.com` for the real service.
        base_url: String,
        /// The subscription token.
        api_key: String,
    },
}

impl SearchProviderConfig {
    /// The Brave Search API's base URL.
    pub const BRAVE_BASE_URL: &'static str = "https://api.search.brave.com";

    /// A SearXNG instance at `base_url`.
    pub fn searxng(base_url: impl Into<String>) -> Self {
        Self::SearXng {
            base_url: base_url.into(),
        }
    }

    /// The Brave Search API with `api_key`.
    pub fn brave(api_key: impl Into<String>) -> Self {
        Self::brave_at(Self::BRAVE_BASE_URL, api_key)
    }

    /// A Brave-compatible search API at `base_url` with `api_key`.
    pub fn brave_at(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self::Brave {
            base_url: base_url.into(),
            api_key: api_key.into(),
        }
    }

    /// The provider's name as `web_search`'s `provider` parameter takes it:
    /// `searxng` or `brave`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::SearXng { .. } => "searxng",
            Self::Brave { .. } => "brave",
        }
    }
}

impl std::fmt::Debug for SearchProviderConfig {
    /// Never prints the API key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SearXng { base_url } => f
                .debug_struct("SearXng")
                .field("base_url", base_url)
                .finish(),
            Self::Brave { base_url, .. } => f
                .debug_struct("Brave")
                .field("base_url", base_url)
                .field("api_key", &"<redacted>")
                .finish(),
        }
    }
}

/// Why an address or host is refused: the rule and what was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The rule (one of `rule::*`).
    pub(crate) rule: &'static str,
    /// What was refused and how to allow it.
    pub(crate) detail: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.rule)
    }
}

impl std::error::Error for Refusal {}

impl NetworkPolicy {
    /// Whether the host name or address literal `host` is allow-listed.
    #[must_use]
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }

    /// The rule that refuses `ip`, or `None` when it may be reached (it is
    /// public, allow-listed by address, or inside an allowed range).
    #[must_use]
    pub fn refusing_rule(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = canonical(ip);
        if self.allowed_cidrs.iter().any(|net| net.contains(&ip))
            || self.host_allowed(&ip.to_string())
        {
            return None;
        }
        classify(ip)
    }

    /// Checks a host name before it is resolved (metadata names).
    pub(crate) fn check_name(&self, host: &str) -> Result<(), Refusal> {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if !self.host_allowed(&name) && METADATA_HOSTS.contains(&name.as_str()) {
            return Err(Refusal {
                rule: rule::CLOUD_METADATA,
                detail: format!(
                    "`{host}` is a cloud metadata service; allow it by name with `allow_host` \
                     if you really mean to reach it"
                ),
            });
        }
        Ok(())
    }

    /// Checks one address `host` resolved to (or an address literal).
    pub(crate) fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        if self.host_allowed(host) {
            return Ok(());
        }
        match self.refusing_rule(ip) {
            None => Ok(()),
            Some(rule) => {
                let via = if host.trim_start_matches('[').trim_end_matches(']') == ip.to_string() {
                    String::new()
                } else {
                    format!("`{host}` resolves to ")
                };
                Err(Refusal {
                    rule,
                    detail: format!(
                        "{via}{ip} is a {} address, refused by the network policy; allow the \
                         host with `allow_host` (`llmspell run --allow-host`) or its range with \
                         `allow_cidr`",
                        kind(rule)
                    ),
                })
            }
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Human words for a rule.
fn kind(rule: &str) -> &'static str {
    match rule {
        rule::CLOUD_METADATA => "cloud metadata",
        rule::LOOPBACK_ADDRESS => "loopback",
        rule::PRIVATE_ADDRESS => "private",
        rule::LINK_LOCAL_ADDRESS => "link-local",
        rule::SHARED_ADDRESS => "carrier-grade NAT",
        _ => "unspecified, broadcast or multicast",
    }
}

/// The rule refusing a non-public address, `None` for a public one.
fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some(rule::CLOUD_METADATA)
    } else if ip.is_loopback() {
        Some(rule::LOOPBACK_ADDRESS)
    } else if ip.is_private() {
        Some(rule::PRIVATE_ADDRESS)
    } else if ip.is_link_local() {
        Some(rule::LINK_LOCAL_ADDRESS)
    } else if a == 100 && (64..128).contains(&b) {
        Some(rule::SHARED_ADDRESS)
    } else if a == 0 || ip.is_broadcast() || ip.is_multicast() {
        Some(rule::UNSPECIFIED_ADDRESS)
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some(rule::CLOUD_METADATA)
    } else if ip.is_loopback() {
        Some(rule::LOOPBACK_ADDRESS)
    } else if first & 0xfe00 == 0xfc00 {
        Some(rule::PRIVATE_ADDRESS)
    } else if first & 0xffc0 == 0xfe80 {
        Some(rule::LINK_LOCAL_ADDRESS)
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some(rule::UNSPECIFIED_ADDRESS)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_refused_range() {
        let policy = NetworkPolicy::default();
        let cases = [
            ("169.254.169.254", Some(rule::CLOUD_METADATA)),
            ("fd00:ec2::254", Some(rule::CLOUD_METADATA)),
            ("127.0.0.1", Some(rule::LOOPBACK_ADDRESS)),
            ("127.8.9.10", Some(rule::LOOPBACK_ADDRESS)),
            ("::1", Some(rule::LOOPBACK_ADDRESS)),
            ("::ffff:127.0.0.1", Some(rule::LOOPBACK_ADDRESS)),
            ("10.1.2.3", Some(rule::PRIVATE_ADDRESS)),
            ("172.16.0.1", Some(rule::PRIVATE_ADDRESS)),
            ("172.31.255.255", Some(rule::PRIVATE_ADDRESS)),
            ("192.168.1.1", Some(rule::PRIVATE_ADDRESS)),
            ("fd12:3456::1", Some(rule::PRIVATE_ADDRESS)),
            ("::ffff:10.0.0.1", Some(rule::PRIVATE_ADDRESS)),
            ("169.254.1.1", Some(rule::LINK_LOCAL_ADDRESS)),
            ("fe80::1", Some(rule::LINK_LOCAL_ADDRESS)),
            ("100.64.0.1", Some(rule::SHARED_ADDRESS)),
            ("100.127.255.255", Some(rule::SHARED_ADDRESS)),
            ("0.0.0.0", Some(rule::UNSPECIFIED_ADDRESS)),
            ("::", Some(rule::UNSPECIFIED_ADDRESS)),
            ("255.255.255.255", Some(rule::UNSPECIFIED_ADDRESS)),
            ("224.0.0.1", Some(rule::UNSPECIFIED_ADDRESS)),
            ("93.184.216.34", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("2606:4700::1111", None),
        ];
        for (ip, expected) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(policy.refusing_rule(ip), expected, "{ip}");
        }
    }

    #[test]
    fn allow_lists_open_hosts_and_ranges() {
        let mut policy = NetworkPolicy::default();
        policy.allowed_cidrs.push("10.0.0.0/8".parse().unwrap());
        policy.allowed_hosts.insert("127.0.0.1".into());
        policy.allowed_hosts.insert("Intranet.Local".into());
        assert_eq!(policy.refusing_rule("10.9.9.9".parse().unwrap()), None);
        assert_eq!(policy.refusing_rule("127.0.0.1".parse().unwrap()), None);
        assert_eq!(
            policy.refusing_rule("127.0.0.2".parse().unwrap()),
            Some(rule::LOOPBACK_ADDRESS)
        );
        assert!(policy
            .check_ip("intranet.local", "192.168.0.5".parse().unwrap())
            .is_ok());
        let refused = policy
            .check_ip("public.example", "192.168.0.5".parse().unwrap())
            .unwrap_err();
        assert_eq!(refused.rule, rule::PRIVATE_ADDRESS);
        assert!(refused
            .detail
            .contains("`public.example` resolves to 192.168.0.5"));
        assert_eq!(
            policy
                .check_name("metadata.google.internal.")
                .unwrap_err()
                .rule,
            rule::CLOUD_METADATA
        );
    }
}
