//! The listener table (istioctl `configdump/listener.go`): one row per listener (`--verbose=false`)
//! or per filter chain, describing what a chain matches and where it sends traffic.

use std::fmt::Write as _;

use serde_json::Value;

use super::dump::{self, ConfigDump, any_string_contains, items, str_of, strings_of, u64_of};
use super::{DumpError, gosort, routes, tabwriter};

const HTTP_CONNECTION_MANAGER: &str = "envoy.filters.network.http_connection_manager";
const TCP_PROXY: &str = "envoy.filters.network.tcp_proxy";
const BLACK_HOLE: &str = "BlackHoleCluster";

/// `--address` (exact, case-insensitive), `--port`, `--type` (HTTP|TCP|HTTP+TCP|UNKNOWN).
#[derive(Debug, Default, Clone)]
pub struct ListenerFilter {
    pub address: String,
    pub port: u64,
    pub kind: String,
    pub verbose: bool,
}

/// A listener with what the table and the filter need, computed once.
pub struct Listener<'a> {
    pub value: &'a Value,
    pub address: String,
    pub port: u64,
    pub kind: &'static str,
}

impl ListenerFilter {
    fn matches(&self, l: &Listener<'_>) -> bool {
        (self.address.is_empty() || l.address.eq_ignore_ascii_case(&self.address))
            && (self.port == 0 || l.port == self.port)
            && (self.kind.is_empty() || l.kind.eq_ignore_ascii_case(&self.kind))
    }
}

/// Active dynamic listeners then static ones, as the dump lists them.
pub fn all(dump: &ConfigDump) -> Result<Vec<Listener<'_>>, DumpError> {
    let section = dump.section(dump::LISTENERS)?;
    let listeners: Vec<Listener<'_>> = items(section, "dynamic_listeners")
        .filter_map(|l| l.get("active_state").and_then(|a| a.get("listener")))
        .chain(items(section, "static_listeners").filter_map(|l| l.get("listener")))
        .map(|value| Listener {
            value,
            address: address(value),
            port: u64_of(value.pointer("/address/socket_address/port_value")),
            kind: kind(value),
        })
        .collect();
    if listeners.is_empty() {
        return Err(DumpError::NoListeners);
    }
    Ok(listeners)
}

/// The socket address and any additional addresses, comma-separated.
fn address(l: &Value) -> String {
    let mut out = l
        .pointer("/address/socket_address/address")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    for extra in items(l, "additional_addresses") {
        if let Some(a) = extra
            .pointer("/address/socket_address/address")
            .and_then(Value::as_str)
        {
            out.push(',');
            out.push_str(a);
        }
    }
    out
}

/// The filter chains, the default one last.
fn chains(l: &Value) -> impl Iterator<Item = &Value> {
    items(l, "filter_chains").chain(l.get("default_filter_chain"))
}

fn is_black_hole(filter: &Value) -> bool {
    filter
        .get("typed_config")
        .is_some_and(|c| any_string_contains(c, BLACK_HOLE))
}

/// HTTP, TCP, HTTP+TCP or UNKNOWN, by the network filters of its chains.
fn kind(l: &Value) -> &'static str {
    let (mut http, mut tcp) = (0, 0);
    for filter in chains(l).flat_map(|c| items(c, "filters")) {
        match str_of(filter, "name") {
            HTTP_CONNECTION_MANAGER => http += 1,
            TCP_PROXY if !is_black_hole(filter) => tcp += 1,
            _ => {}
        }
    }
    match (http > 0, tcp > 0) {
        (true, false) => "HTTP",
        (true, true) => "HTTP+TCP",
        (false, true) => "TCP",
        (false, false) => "UNKNOWN",
    }
}

/// The ALPN lists Istio generates, named as istioctl names them.
const PROTOCOL_NAMES: &[(&str, &[&str])] = &[
    (
        "App: HTTP TLS",
        &[
            "http/1.0",
            "http/1.1",
            "h2c",
            "istio-http/1.0",
            "istio-http/1.1",
            "istio-h2",
        ],
    ),
    (
        "App: Istio HTTP Plain",
        &["istio", "istio-http/1.0", "istio-http/1.1", "istio-h2"],
    ),
    ("App: TCP TLS", &["istio-peer-exchange", "istio"]),
    ("App: HTTP", &["http/1.0", "http/1.1", "h2c"]),
];

/// What a filter chain matches: `SNI: …; Trans: …; App: …; Addr: …`, or `ALL`.
fn describe_match(chain: &Value) -> String {
    let empty = Value::Null;
    let m = chain.get("filter_chain_match").unwrap_or(&empty);
    let mut descrs = Vec::new();
    let sni = strings_of(m, "server_names");
    if !sni.is_empty() {
        descrs.push(format!("SNI: {}", sni.join(",")));
    }
    let transport = str_of(m, "transport_protocol");
    if !transport.is_empty() {
        descrs.push(format!("Trans: {transport}"));
    }
    let alpn = strings_of(m, "application_protocols");
    if !alpn.is_empty() {
        match PROTOCOL_NAMES
            .iter()
            .find(|(_, list)| *list == alpn.as_slice())
        {
            Some((name, _)) => descrs.push((*name).to_string()),
            None => descrs.push(format!("App: {}", alpn.join(","))),
        }
    }
    let port = m
        .get("destination_port")
        .map(|p| format!(":{}", u64_of(Some(p))))
        .unwrap_or_default();
    let ranges: Vec<String> = items(m, "prefix_ranges")
        .map(|r| {
            format!(
                "{}/{}",
                str_of(r, "address_prefix"),
                u64_of(r.get("prefix_len"))
            )
        })
        .collect();
    if !ranges.is_empty() {
        descrs.push(format!("Addr: {}{port}", ranges.join(",")));
    } else if !port.is_empty() {
        descrs.push(format!("Addr: *{port}"));
    }
    if descrs.is_empty() {
        return "ALL".to_string();
    }
    descrs.join("; ")
}

/// Where a filter chain sends traffic: its RDS route, inline routes, or tcp_proxy cluster.
fn describe_destination(chain: &Value) -> String {
    for filter in items(chain, "filters") {
        let config = filter.get("typed_config");
        match str_of(filter, "name") {
            HTTP_CONNECTION_MANAGER => {
                let Some(config) = config else {
                    return "HTTP".to_string();
                };
                if let Some(rc) = config.get("route_config") {
                    return routes::describe_inline(rc);
                }
                let rds = config
                    .pointer("/rds/route_config_name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !rds.is_empty() {
                    return format!("Route: {rds}");
                }
                return "HTTP".to_string();
            }
            TCP_PROXY if !is_black_hole(filter) => {
                let cluster = config.map(|c| str_of(c, "cluster")).unwrap_or("");
                if cluster.contains("Cluster") {
                    return cluster.to_string();
                }
                return format!("Cluster: {cluster}");
            }
            _ => {}
        }
    }
    "Non-HTTP/Non-TCP".to_string()
}

/// The summary table; `named` adds the `NAME` column `proxy-config all` prints.
pub fn summary(
    dump: &ConfigDump,
    filter: &ListenerFilter,
    named: bool,
) -> Result<String, DumpError> {
    let mut listeners: Vec<Listener<'_>> = all(dump)?
        .into_iter()
        .filter(|l| filter.matches(l))
        .collect();
    gosort::sort_slice(&mut listeners, |a, b| {
        (a.port, a.address.as_str(), a.kind) < (b.port, b.address.as_str(), b.kind)
    });
    let mut t = String::new();
    if named {
        t.push_str("NAME\t");
    }
    t.push_str(if filter.verbose {
        "ADDRESSES\tPORT\tMATCH\tDESTINATION\n"
    } else {
        "ADDRESSES\tPORT\tTYPE\n"
    });
    for l in &listeners {
        let name = if named {
            format!("listener/{}\t", str_of(l.value, "name"))
        } else {
            String::new()
        };
        if filter.verbose {
            let mut rows: Vec<(String, String)> = chains(l.value)
                .map(|c| (describe_match(c), describe_destination(c)))
                .collect();
            gosort::sort_slice(&mut rows, |a, b| a.1 > b.1);
            for (m, d) in rows {
                let _ = writeln!(t, "{name}{}\t{}\t{m}\t{d}", l.address, l.port);
            }
        } else {
            let _ = writeln!(t, "{name}{}\t{}\t{}", l.address, l.port, l.kind);
        }
    }
    Ok(tabwriter::format(&t, 1))
}

/// The listeners `-o json|yaml` prints (in dump order, as istioctl).
pub fn selected<'a>(
    dump: &'a ConfigDump,
    filter: &ListenerFilter,
) -> Result<Vec<&'a Value>, DumpError> {
    Ok(all(dump)?
        .into_iter()
        .filter(|l| filter.matches(l))
        .map(|l| l.value)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verbose() -> ListenerFilter {
        ListenerFilter {
            verbose: true,
            ..Default::default()
        }
    }

    #[test]
    fn summary_of_a_real_envoy() {
        let dump = ConfigDump::parse(include_bytes!(
            "../../fixtures/envoy/config-dump-clusters-listeners-routes.json"
        ))
        .unwrap();
        insta::assert_snapshot!("verbose", summary(&dump, &verbose(), false).unwrap());
        insta::assert_snapshot!(
            "short",
            summary(&dump, &ListenerFilter::default(), false).unwrap()
        );
    }

    #[test]
    fn describes_matches() {
        let chain = serde_json::json!({"filter_chain_match": {"destination_port": 9080,
            "transport_protocol": "raw_buffer", "application_protocols": ["http/1.1", "h2c"]}});
        assert_eq!(
            describe_match(&chain),
            "Trans: raw_buffer; App: http/1.1,h2c; Addr: *:9080"
        );
        assert_eq!(describe_match(&serde_json::json!({})), "ALL");
    }
}
