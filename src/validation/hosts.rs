//! Host names, wildcard domains, IP addresses and subnets, as Istio's `agent` package checks
//! them.

use std::net::IpAddr;

use super::names::{is_dns1123_label, is_wildcard_dns1123_label};

/// `CheckDNS1123Preconditions`.
pub fn check_dns1123_preconditions(name: &str) -> Option<String> {
    if name.len() > 255 {
        Some(format!("domain name {name:?} too long (max 255)"))
    } else if name.is_empty() {
        Some("empty domain name not allowed".to_string())
    } else {
        None
    }
}

/// Whether Go's `strconv.Atoi` accepts `s` (an optional sign, then decimal digits).
fn go_atoi_ok(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `ValidateDNS1123Labels`: no all-numeric top-level domain; every label (but a trailing empty
/// one) a DNS-1123 label. Reports the first problem only.
pub fn validate_dns1123_labels(domain: &str) -> Option<String> {
    let parts: Vec<&str> = domain.split('.').collect();
    if let Some(tld) = parts.last()
        && go_atoi_ok(tld)
    {
        return Some(format!(
            "domain name {domain:?} invalid (top level domain {tld:?} cannot be all-numeric)"
        ));
    }
    for (i, label) in parts.iter().enumerate() {
        if i == parts.len() - 1 && label.is_empty() {
            return None;
        }
        if !is_dns1123_label(label) {
            return Some(format!(
                "domain name {domain:?} invalid (label {label:?} invalid)"
            ));
        }
    }
    None
}

/// `ValidateFQDN`.
pub fn validate_fqdn(s: &str) -> Option<String> {
    check_dns1123_preconditions(s).or_else(|| validate_dns1123_labels(s))
}

/// `ValidateWildcardDomain`: a wildcard is allowed in the first label only.
pub fn validate_wildcard_domain(s: &str) -> Option<String> {
    if let Some(e) = check_dns1123_preconditions(s) {
        return Some(e);
    }
    let (first, rest) = match s.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (s, None),
    };
    if !is_wildcard_dns1123_label(first) {
        return Some(format!(
            "domain name {s:?} invalid (label {first:?} invalid)"
        ));
    }
    rest.and_then(validate_dns1123_labels)
}

/// `ValidateWildcardDomainForVirtualServiceBoundToGateway`: as `validate_wildcard_domain`, but an
/// SNI host may be an `outbound_.<port>_._.<host>` cluster name.
pub fn validate_wildcard_domain_for_gateway_vs(sni: bool, s: &str) -> Option<String> {
    if let Some(e) = check_dns1123_preconditions(s) {
        return Some(e);
    }
    if sni && s.starts_with("outbound_") {
        let parts: Vec<&str> = s.split('_').collect();
        if parts.len() < 4 {
            return Some(format!(
                "domain name {s} invalid, should follow 'outbound_.<port>_._.<hostname>' format"
            ));
        }
        let port = parts[1].trim_matches('.');
        if !port.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(format!(
                "domain name {s:?} invalid (label {port:?} invalid). should follow outbound_.<port>_._.<hostname> format"
            ));
        }
        let host = parts[3].trim_matches('.');
        if !host.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Some(format!(
                "domain name {s:?} invalid (label {host:?} invalid). should follow outbound_.<port>_._.<hostname> format"
            ));
        }
        return None;
    }
    validate_wildcard_domain(s)
}

/// `ValidatePartialWildCard`: `*` alone or as a `*.` prefix only.
pub fn validate_partial_wildcard(h: &str) -> Option<String> {
    if h.contains('*') && h.len() != 1 && !h.starts_with("*.") {
        Some(format!("partial wildcard {h:?} not allowed"))
    } else {
        None
    }
}

/// Go's `netip.ParseAddr`: IPv4, or IPv6 with an optional zone.
pub fn parse_ip(a: &str) -> Option<IpAddr> {
    if let Some((addr, zone)) = a.split_once('%') {
        if zone.is_empty() || !addr.contains(':') {
            return None;
        }
        return addr.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    a.parse().ok()
}

pub fn is_ip(a: &str) -> bool {
    parse_ip(a).is_some()
}

/// `ValidateIPAddress`.
pub fn validate_ip_address(a: &str) -> Option<String> {
    if is_ip(a) {
        None
    } else {
        Some(format!("{a} is not a valid IP"))
    }
}

/// Go's `netip.ParsePrefix`; the error text mirrors Go's for the common cases.
pub fn parse_prefix(s: &str) -> Result<(), String> {
    let Some((addr, bits)) = s.split_once('/') else {
        return Err(format!("netip.ParsePrefix({s:?}): no '/'"));
    };
    if addr.contains('%') {
        return Err(format!(
            "netip.ParsePrefix({s:?}): IPv6 zones cannot be present in a prefix"
        ));
    }
    let ip: IpAddr = addr.parse().map_err(|_| {
        format!("netip.ParsePrefix({s:?}): ParseAddr({addr:?}): invalid IP address")
    })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match bits.parse::<u32>() {
        Ok(b) if b <= max && !bits.starts_with('+') && (bits == "0" || !bits.starts_with('0')) => {
            Ok(())
        }
        Ok(_) => Err(format!(
            "netip.ParsePrefix({s:?}): prefix length out of range"
        )),
        Err(_) => Err(format!(
            "netip.ParsePrefix({s:?}): bad bits after slash: {bits:?}"
        )),
    }
}

/// `ValidateIPSubnet`.
pub fn validate_ip_subnet(s: &str) -> Option<String> {
    if s.matches('/').count() == 1 {
        if parse_prefix(s).is_err() {
            return Some(format!("{s} is not a valid CIDR block"));
        }
        return None;
    }
    validate_ip_address(s)
}

/// `ValidateUnixAddress`, given the address without `unix://`.
pub fn validate_unix_address(a: &str) -> Option<String> {
    if a.is_empty() {
        return Some("unix address must not be empty".to_string());
    }
    if a.starts_with('@') {
        return None;
    }
    if !a.starts_with('/') || a.ends_with('/') {
        return Some(format!("{a} is not an absolute path to a file"));
    }
    None
}

/// `validateSidecarOrGatewayHostnamePart`.
fn hostname_part(host: &str, is_gateway: bool, out: &mut Vec<String>) {
    if host != "*" && !host.contains('.') {
        out.push("short names (non FQDN) are not allowed".to_string());
    }
    if let Some(e) = validate_wildcard_domain(host) {
        if !is_gateway {
            // Istio appends the sidecar error twice (once unconditionally, once when the host is
            // not an IP); kept so messages match.
            out.push(e.clone());
            if !is_ip(host) {
                out.push(e);
            }
        } else if !is_ip(host) {
            out.push(e);
        }
    }
    if let Some(e) = validate_partial_wildcard(host) {
        out.push(e);
    }
}

/// `ValidateNamespaceSlashWildcardHostname` (gateway server hosts, sidecar egress hosts).
pub fn validate_namespace_slash_wildcard_hostname(h: &str, is_gateway: bool) -> Vec<String> {
    let mut out = Vec::new();
    let Some((ns, host)) = h.split_once('/') else {
        if is_gateway {
            hostname_part(h, true, &mut out);
        } else {
            out.push("host must be of form namespace/dnsName".to_string());
        }
        return out;
    };
    if ns.is_empty() || host.is_empty() {
        out.push("config namespace and dnsName in host entry cannot be empty".to_string());
    }
    if is_gateway {
        if ns != "*" && ns != "." && !is_dns1123_label(ns) {
            out.push(format!("invalid namespace value {ns:?} in gateway"));
        }
    } else if ns != "*" && ns != "." && ns != "~" && !is_dns1123_label(ns) {
        out.push(format!("invalid namespace value {ns:?} in sidecar"));
    }
    hostname_part(host, is_gateway, &mut out);
    out
}

/// Istio's `host.Name.Matches`: equality, or wildcard suffix matching either way.
pub fn host_matches(a: &str, b: &str) -> bool {
    let wild = |h: &str| h.starts_with('*');
    match (wild(a), wild(b)) {
        (false, false) => a == b,
        (true, false) => b.ends_with(&a[1..]),
        (false, true) => a.ends_with(&b[1..]),
        (true, true) => {
            if a.len() > b.len() {
                a[1..].ends_with(&b[1..])
            } else {
                b[1..].ends_with(&a[1..])
            }
        }
    }
}

/// Istio's `host.Name.SubsetOf`: every host `a` names is also named by `b`.
pub fn host_subset_of(a: &str, b: &str) -> bool {
    let wild = |h: &str| h.starts_with('*');
    match (wild(a), wild(b)) {
        (_, false) => !wild(a) && a == b,
        (false, true) => a.ends_with(&b[1..]),
        (true, true) => a[1..].ends_with(&b[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(validate_wildcard_domain("*.example.com"), None);
        assert_eq!(validate_wildcard_domain("reviews"), None);
        assert_eq!(
            validate_wildcard_domain(""),
            Some("empty domain name not allowed".into())
        );
        assert_eq!(
            validate_wildcard_domain("foo.*.com"),
            Some("domain name \"*.com\" invalid (label \"*\" invalid)".into())
        );
        assert_eq!(
            validate_wildcard_domain("*.foo.123"),
            Some(
                "domain name \"foo.123\" invalid (top level domain \"123\" cannot be all-numeric)"
                    .into()
            )
        );
        assert_eq!(
            validate_fqdn("bad_host.com"),
            Some("domain name \"bad_host.com\" invalid (label \"bad_host\" invalid)".into())
        );
        assert_eq!(validate_fqdn("istio.io."), None);
        assert_eq!(
            validate_partial_wildcard("*foo.com"),
            Some("partial wildcard \"*foo.com\" not allowed".into())
        );
    }

    #[test]
    fn ips_and_subnets() {
        assert!(is_ip("10.0.0.1"));
        assert!(is_ip("fe80::1%eth0"));
        assert!(!is_ip("10.0.0"));
        assert_eq!(validate_ip_subnet("10.0.0.0/8"), None);
        assert_eq!(
            validate_ip_subnet("10.0.0.0/33"),
            Some("10.0.0.0/33 is not a valid CIDR block".into())
        );
        assert_eq!(
            validate_ip_subnet("nope"),
            Some("nope is not a valid IP".into())
        );
    }

    #[test]
    fn namespace_slash_hosts() {
        assert!(validate_namespace_slash_wildcard_hostname("./*.example.com", false).is_empty());
        assert_eq!(
            validate_namespace_slash_wildcard_hostname("reviews", false),
            vec!["host must be of form namespace/dnsName"]
        );
        assert_eq!(
            validate_namespace_slash_wildcard_hostname("ns/reviews", false),
            vec!["short names (non FQDN) are not allowed"]
        );
        assert_eq!(
            validate_namespace_slash_wildcard_hostname("ns/foo.*.com", false),
            vec![
                "domain name \"*.com\" invalid (label \"*\" invalid)",
                "domain name \"*.com\" invalid (label \"*\" invalid)",
                "partial wildcard \"foo.*.com\" not allowed"
            ]
        );
        assert!(validate_namespace_slash_wildcard_hostname("10.0.0.1", true).is_empty());
    }

    #[test]
    fn matching() {
        assert!(host_matches("*.com", "a.com"));
        assert!(host_matches("*", "a.com"));
        assert!(!host_matches("a.com", "b.com"));
        assert!(host_subset_of("a.foo.com", "*.foo.com"));
        assert!(!host_subset_of("*.com", "*.foo.com"));
    }
}
