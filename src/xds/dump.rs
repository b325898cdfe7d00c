//! Envoy's `/config_dump` JSON, which the proxy's admin API and the control plane's
//! `/debug/config_dump?proxyID=` both serve: a typed `envoy.admin.v3.ConfigDump` printed exactly
//! as Envoy prints it, so `istioctl proxy-config`, `proxy-status` and people's scripts read ours
//! as they read Envoy's.
//!
//! Envoy prints protobuf's canonical JSON with proto field names: `Any` inlined with `@type`,
//! durations as `"0.250s"`, wrappers as plain values, `Struct` as plain JSON, RFC 3339 timestamps,
//! and doubles without a trailing `.0`. The typed envoy-types structs have no JSON at all, so the
//! dump is re-read as a [`DynamicMessage`] over a descriptor pool that `build.rs` compiles (with
//! protox, no `protoc`) from the `.proto` files shipped in envoy-types, plus the few cncf/xds
//! files kept next to this module (`src/xds/dump/`). An `Any` whose type is not in that pool
//! cannot be printed; [`DumpError::Serialize`] names it.
//!
//! [`DumpQuery`] applies Envoy's query parameters (`resource`, `mask`, `include_eds`,
//! `name_regex`) the way Envoy's admin handler does.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use envoy_types::pb::envoy::admin::v3::{
    BootstrapConfigDump, ClustersConfigDump, ConfigDump, EndpointsConfigDump, ListenersConfigDump,
    RoutesConfigDump, ScopedRoutesConfigDump, SecretsConfigDump, clusters_config_dump,
    endpoints_config_dump, listeners_config_dump, routes_config_dump, secrets_config_dump,
};
use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::google::protobuf::{Any, Timestamp};
use prost::{Message, Name};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage,
    SerializeOptions, Value,
};
use regex::Regex;

/// The descriptor set `build.rs` compiles from envoy-types' `.proto` files.
const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/config_dump_descriptors.bin"));

/// Decoded once, on the first dump (a few milliseconds; see the tests).
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(DESCRIPTORS).expect("build.rs wrote a valid descriptor set")
});

/// The descriptor pool `/config_dump` prints with: Envoy's admin, config and the extension types
/// Ferry emits or Istio's proxies commonly carry.
pub fn descriptor_pool() -> &'static DescriptorPool {
    &POOL
}

/// Errors from reading a query or printing a dump. [`DumpError::http_status`] is the status
/// Envoy's admin answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    #[error("invalid name_regex {regex:?}: {message}")]
    BadNameRegex { regex: String, message: String },
    #[error("{0} is not a repeated field. Use ?mask={0} to get only this field")]
    NotRepeated(String),
    #[error("{0} not found in config dump")]
    ResourceNotFound(String),
    #[error("cannot decode {type_url}: {message}")]
    Decode { type_url: String, message: String },
    #[error("cannot print the config dump: {0}")]
    Serialize(String),
}

impl DumpError {
    /// 400 for a query Envoy refuses, 404 for a `resource` no section has, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            DumpError::BadNameRegex { .. } | DumpError::NotRepeated(_) => 400,
            DumpError::ResourceNotFound(_) => 404,
            DumpError::Decode { .. } | DumpError::Serialize(_) => 500,
        }
    }
}

/// Which part of the dump to print, from Envoy's query string: `?mask=a.b,c`,
/// `?resource=dynamic_active_clusters`, `?include_eds`, `?name_regex=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpQuery {
    /// A repeated field of the sections (`dynamic_active_clusters`): print its elements, each as
    /// its own config.
    pub resource: Option<String>,
    /// A FieldMask (`paths` joined by commas) kept of each section, or of each element with
    /// `resource`; there it may reach into the element's resource (`cluster.name`).
    pub mask: Option<String>,
    /// Whether to print the EndpointsConfigDump section (Envoy leaves it out by default).
    pub include_eds: bool,
    /// Keep only resources whose whole name matches this regex.
    pub name_regex: Option<String>,
}

impl DumpQuery {
    /// Reads the query string (without `?`). As in Envoy, `include_eds` counts when present
    /// whatever its value, unknown parameters are ignored, and the first of repeated ones wins.
    pub fn from_query(query: &str) -> Result<DumpQuery, DumpError> {
        let mut q = DumpQuery::default();
        let mut seen = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (key, value) = (percent_decode(key), percent_decode(value));
            if seen.contains(&key) {
                continue;
            }
            match key.as_str() {
                "resource" => q.resource = Some(value),
                "mask" => q.mask = Some(value),
                "include_eds" => q.include_eds = true,
                "name_regex" => {
                    name_matcher(&value)?;
                    q.name_regex = Some(value);
                }
                _ => {}
            }
            seen.push(key);
        }
        Ok(q)
    }
}

/// A query parameter's text: `%XX` escapes and `+` for space, as in HTML form queries; a
/// malformed escape is kept as is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
                continue;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Envoy matches `name_regex` against the whole name (RE2 full match).
fn name_matcher(regex: &str) -> Result<Regex, DumpError> {
    Regex::new(&format!("^(?:{regex})$")).map_err(|e| DumpError::BadNameRegex {
        regex: regex.to_string(),
        message: e.to_string(),
    })
}

/// One dynamic resource as a proxy holds it: the version of the xDS response that carried it
/// and when it was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub version_info: String,
    pub last_updated: SystemTime,
    pub resource: T,
}

/// What a proxy (or the control plane, for one proxy) has to dump.
#[derive(Debug, Clone, Copy, Default)]
pub struct DumpSource<'a> {
    /// The bootstrap the proxy started from (with its `node`) and when it was loaded; without
    /// one the section is printed empty, as istiod does.
    pub bootstrap: Option<(&'a Bootstrap, SystemTime)>,
    pub listeners: &'a [Versioned<Listener>],
    pub routes: &'a [Versioned<RouteConfiguration>],
    pub clusters: &'a [Versioned<Cluster>],
    pub endpoints: &'a [Versioned<ClusterLoadAssignment>],
    pub secrets: &'a [Versioned<Secret>],
}

fn pack<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

/// A protobuf `Timestamp` for `t`; the epoch for a time before it.
pub(super) fn timestamp(t: SystemTime) -> Timestamp {
    let (seconds, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            i32::try_from(d.subsec_nanos()).unwrap_or(0),
        ),
        Err(_) => (0, 0),
    };
    Timestamp { seconds, nanos }
}

/// The version of the newest update among `items`: what Envoy reports as a type's
/// `version_info` (the last response it accepted).
fn latest_version<T>(items: &[Versioned<T>]) -> String {
    items
        .iter()
        .max_by_key(|v| v.last_updated)
        .map(|v| v.version_info.clone())
        .unwrap_or_default()
}

/// The typed dump of `src`, with Envoy's sections in Envoy's order (its admin handler walks its
/// providers sorted by name: bootstrap, clusters, endpoint, listeners, route_scopes, routes,
/// secrets).
/// What Envoy prints instead of a private key.
pub const REDACTED: &[u8] = b"[redacted]";

/// `secret` as Envoy's config dump shows it: a certificate's private key replaced by
/// [`REDACTED`] (Envoy's `MessageUtil::redact`), the rest as it is.
pub fn redact_secret(mut secret: Secret) -> Secret {
    use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::secret;
    if let Some(secret::Type::TlsCertificate(t)) = &mut secret.r#type
        && t.private_key.is_some()
    {
        t.private_key = Some(DataSource {
            specifier: Some(data_source::Specifier::InlineBytes(REDACTED.to_vec())),
            ..Default::default()
        });
    }
    secret
}

pub fn build_config_dump(src: &DumpSource) -> ConfigDump {
    let bootstrap = match src.bootstrap {
        Some((b, at)) => BootstrapConfigDump {
            bootstrap: Some(b.clone()),
            last_updated: Some(timestamp(at)),
        },
        None => BootstrapConfigDump::default(),
    };
    let clusters = ClustersConfigDump {
        version_info: latest_version(src.clusters),
        dynamic_active_clusters: src
            .clusters
            .iter()
            .map(|c| clusters_config_dump::DynamicCluster {
                version_info: c.version_info.clone(),
                cluster: Some(pack(&c.resource)),
                last_updated: Some(timestamp(c.last_updated)),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let endpoints = EndpointsConfigDump {
        dynamic_endpoint_configs: src
            .endpoints
            .iter()
            .map(|e| endpoints_config_dump::DynamicEndpointConfig {
                version_info: e.version_info.clone(),
                endpoint_config: Some(pack(&e.resource)),
                last_updated: Some(timestamp(e.last_updated)),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let listeners = ListenersConfigDump {
        version_info: latest_version(src.listeners),
        dynamic_listeners: src
            .listeners
            .iter()
            .map(|l| listeners_config_dump::DynamicListener {
                name: l.resource.name.clone(),
                active_state: Some(listeners_config_dump::DynamicListenerState {
                    version_info: l.version_info.clone(),
                    listener: Some(pack(&l.resource)),
                    last_updated: Some(timestamp(l.last_updated)),
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let routes = RoutesConfigDump {
        dynamic_route_configs: src
            .routes
            .iter()
            .map(|r| routes_config_dump::DynamicRouteConfig {
                version_info: r.version_info.clone(),
                route_config: Some(pack(&r.resource)),
                last_updated: Some(timestamp(r.last_updated)),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let secrets = SecretsConfigDump {
        dynamic_active_secrets: src
            .secrets
            .iter()
            .map(|s| secrets_config_dump::DynamicSecret {
                name: s.resource.name.clone(),
                version_info: s.version_info.clone(),
                last_updated: Some(timestamp(s.last_updated)),
                secret: Some(pack(&s.resource)),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    ConfigDump {
        configs: vec![
            pack(&bootstrap),
            pack(&clusters),
            pack(&endpoints),
            pack(&listeners),
            pack(&ScopedRoutesConfigDump::default()),
            pack(&routes),
            pack(&secrets),
        ],
    }
}

/// `dump` as Envoy's admin prints it for `query`: pretty JSON and one trailing newline.
///
/// Without `resource`, each section is printed (EndpointsConfigDump only with `include_eds`),
/// trimmed to `mask`. With `resource`, the elements of that repeated field of the first section
/// that has it are printed one config each, each trimmed to `mask`.
pub fn to_json(dump: &ConfigDump, query: &DumpQuery) -> Result<String, DumpError> {
    let names = query.name_regex.as_deref().map(name_matcher).transpose()?;
    let mask = query.mask.as_deref().map(MaskTree::parse);
    let mut configs = Vec::new();
    let mut found = false;
    for section in &dump.configs {
        let mut message = decode_any(section)?;
        if message.descriptor().full_name() == EndpointsConfigDump::full_name()
            && !query.include_eds
        {
            continue;
        }
        if let Some(names) = &names {
            retain_named(&mut message, names)?;
        }
        match &query.resource {
            None => {
                if let Some(mask) = &mask {
                    mask.trim(&mut message);
                }
                configs.push(message);
            }
            Some(resource) => {
                let Some(field) = message.descriptor().get_field_by_name(resource) else {
                    continue;
                };
                if !field.is_list() {
                    return Err(DumpError::NotRepeated(resource.clone()));
                }
                let elements = match message.get_field(&field).as_list() {
                    Some(list) => list.to_vec(),
                    None => Vec::new(),
                };
                for element in elements {
                    let Value::Message(mut element) = element else {
                        continue;
                    };
                    if let Some(mask) = &mask {
                        mask.trim_resource(&mut element)?;
                    }
                    configs.push(element);
                }
                found = true;
                break;
            }
        }
    }
    if let (Some(resource), false) = (&query.resource, found) {
        return Err(DumpError::ResourceNotFound(resource.clone()));
    }
    let out = ConfigDump {
        configs: configs.iter().map(to_any).collect(),
    };
    let message = decode_any(&pack(&out))?;
    let mut text = print(&message)?;
    text.push('\n');
    Ok(text)
}

fn to_any(message: &DynamicMessage) -> Any {
    Any {
        type_url: format!("type.googleapis.com/{}", message.descriptor().full_name()),
        value: message.encode_to_vec(),
    }
}

fn decode_any(any: &Any) -> Result<DynamicMessage, DumpError> {
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    let descriptor = POOL
        .get_message_by_name(name)
        .ok_or_else(|| DumpError::Decode {
            type_url: any.type_url.clone(),
            message: "type not in the config_dump descriptor pool".into(),
        })?;
    DynamicMessage::decode(descriptor, any.value.as_slice()).map_err(|e| DumpError::Decode {
        type_url: any.type_url.clone(),
        message: e.to_string(),
    })
}

/// Pretty JSON with proto field names, as Envoy prints.
fn print(message: &DynamicMessage) -> Result<String, DumpError> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, EnvoyFormatter::new());
    message
        .serialize_with_options(
            &mut serializer,
            &SerializeOptions::new().use_proto_field_name(true),
        )
        .map_err(|e| DumpError::Serialize(e.to_string()))?;
    String::from_utf8(out).map_err(|e| DumpError::Serialize(e.to_string()))
}

/// serde_json's pretty printer, except that integral doubles print as Envoy (protobuf) prints
/// them: `100`, not `100.0`.
struct EnvoyFormatter(serde_json::ser::PrettyFormatter<'static>);

impl EnvoyFormatter {
    fn new() -> EnvoyFormatter {
        EnvoyFormatter(serde_json::ser::PrettyFormatter::new())
    }
}

/// `Some(integer)` for a finite double with no fraction that prints exactly as an integer.
fn integral(value: f64) -> Option<i64> {
    // 2^53: beyond it protobuf switches to exponent notation, as serde_json does.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    (value.is_finite() && value.fract() == 0.0 && value.abs() <= EXACT).then_some(value as i64)
}

impl serde_json::ser::Formatter for EnvoyFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        match integral(value) {
            // -0.0 prints as "-0" in protobuf, as here.
            Some(0) if value.is_sign_negative() => w.write_all(b"-0"),
            Some(i) => write!(w, "{i}"),
            None => serde_json::ser::CompactFormatter.write_f64(w, value),
        }
    }

    fn write_f32<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        value: f32,
    ) -> std::io::Result<()> {
        match integral(f64::from(value)) {
            Some(0) if value.is_sign_negative() => w.write_all(b"-0"),
            Some(i) => write!(w, "{i}"),
            None => serde_json::ser::CompactFormatter.write_f32(w, value),
        }
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Removes from every repeated message field of a section the resources whose name `names`
/// does not match (Envoy filters each provider's resources by name the same way).
fn retain_named(section: &mut DynamicMessage, names: &Regex) -> Result<(), DumpError> {
    let fields: Vec<FieldDescriptor> = section
        .descriptor()
        .fields()
        .filter(|f| f.is_list() && matches!(f.kind(), Kind::Message(_)))
        .collect();
    for field in fields {
        let Some(list) = section.get_field_mut(&field).as_list_mut() else {
            continue;
        };
        let mut kept = Vec::with_capacity(list.len());
        for element in list.drain(..) {
            let keep = match &element {
                Value::Message(m) => resource_name(m)?.is_none_or(|n| names.is_match(&n)),
                _ => true,
            };
            if keep {
                kept.push(element);
            }
        }
        *list = kept;
    }
    Ok(())
}

/// The name of a dump element: its own `name` (DynamicListener, DynamicSecret), or the `name` /
/// `cluster_name` of the resource in its `Any`. `None` when it has neither.
fn resource_name(element: &DynamicMessage) -> Result<Option<String>, DumpError> {
    if let Some(name) = element.get_field_by_name("name")
        && let Some(name) = name.as_str()
        && !name.is_empty()
    {
        return Ok(Some(name.to_string()));
    }
    for field in element.descriptor().fields() {
        if !is_any(&field) || field.is_list() || !element.has_field(&field) {
            continue;
        }
        let Some(any) = element.get_field(&field).as_message().map(any_of) else {
            continue;
        };
        let inner = decode_any(&any)?;
        for key in ["name", "cluster_name"] {
            if let Some(v) = inner.get_field_by_name(key)
                && let Some(s) = v.as_str()
            {
                return Ok(Some(s.to_string()));
            }
        }
    }
    Ok(None)
}

fn is_any(field: &FieldDescriptor) -> bool {
    matches!(field.kind(), Kind::Message(m) if m.full_name() == "google.protobuf.Any")
}

/// A dynamic `google.protobuf.Any` as a typed one.
fn any_of(message: &DynamicMessage) -> Any {
    let type_url = message
        .get_field_by_name("type_url")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let value = message
        .get_field_by_name("value")
        .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
        .unwrap_or_default();
    Any { type_url, value }
}

/// A FieldMask as a tree of field names, as protobuf's `FieldMaskUtil::TrimMessage` uses it: a
/// leaf keeps its whole field, a node keeps the listed parts of a message field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MaskTree(BTreeMap<String, MaskTree>);

impl MaskTree {
    fn parse(mask: &str) -> MaskTree {
        let mut tree = MaskTree::default();
        for path in mask.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            tree.add(&path.split('.').collect::<Vec<_>>());
        }
        tree
    }

    fn add(&mut self, path: &[&str]) {
        let [first, rest @ ..] = path else {
            return;
        };
        match self.0.get_mut(*first) {
            // A shorter path already keeps the whole field.
            Some(child) if child.0.is_empty() => {}
            Some(child) if rest.is_empty() => child.0.clear(),
            Some(child) => child.add(rest),
            None => {
                let mut child = MaskTree::default();
                child.add(rest);
                self.0.insert(first.to_string(), child);
            }
        }
    }

    /// Clears every field of `message` the mask does not name, recursing into singular message
    /// fields named with sub-paths. Repeated and map fields are kept whole: masks cannot index
    /// through them.
    fn trim(&self, message: &mut DynamicMessage) {
        let fields: Vec<FieldDescriptor> = message.descriptor().fields().collect();
        for field in fields {
            match self.0.get(field.name()) {
                None => message.clear_field(&field),
                Some(child) if !child.0.is_empty() => {
                    if !field.is_list()
                        && !field.is_map()
                        && message.has_field(&field)
                        && let Some(inner) = message.get_field_mut(&field).as_message_mut()
                    {
                        child.trim(inner);
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// Envoy's `trimResourceMessage`: paths that go through the element's `Any` (`cluster.name`)
    /// trim the resource inside it; the rest trim the element.
    fn trim_resource(&self, element: &mut DynamicMessage) -> Result<(), DumpError> {
        let mut outer = self.clone();
        let descriptor = element.descriptor();
        for (name, inner) in &self.0 {
            let Some(field) = descriptor.get_field_by_name(name) else {
                continue;
            };
            if !is_any(&field) || field.is_list() || inner.0.is_empty() {
                continue;
            }
            outer.0.insert(name.clone(), MaskTree::default());
            if !element.has_field(&field) {
                continue;
            }
            let Some(any) = element.get_field(&field).as_message().map(any_of) else {
                continue;
            };
            let mut resource = decode_any(&any)?;
            inner.trim(&mut resource);
            let trimmed = to_any(&resource);
            let mut packed = DynamicMessage::new(any_descriptor());
            packed.set_field_by_name("type_url", Value::String(any.type_url));
            packed.set_field_by_name("value", Value::Bytes(trimmed.value.into()));
            element.set_field(&field, Value::Message(packed));
        }
        outer.trim(element);
        Ok(())
    }
}

fn any_descriptor() -> MessageDescriptor {
    POOL.get_message_by_name("google.protobuf.Any")
        .expect("the pool has the well-known types")
}

#[cfg(test)]
mod tests;
