//! Deterministic protobuf encoding. prost writes `map` fields in `HashMap` order, which changes
//! from one map to the next even for equal contents; `google.protobuf.Struct` (the `istio`
//! metadata) and `typed_per_filter_config` are maps. Istio marshals deterministically (sorted map
//! keys) so equal configuration hashes equally; so does this module: it encodes with prost, then
//! rewrites every map field it knows of with its entries sorted by key.
//!
//! Knowing where maps are takes a schema. [`SCHEMAS`] lists the messages Ferry's translation
//! emits that hold maps or lead to one, with the field numbers from Envoy's protos; any other
//! field is copied as it is. `Any` payloads are rewritten when their type is listed. A map added
//! to the output without a schema entry here shows up in the determinism tests.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

use super::ProxyConfig;

/// The xDS type URLs of the four resource types.
pub mod type_url {
    pub const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
    pub const ROUTE_CONFIGURATION: &str =
        "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    pub const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    pub const CLUSTER_LOAD_ASSIGNMENT: &str =
        "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// prost's own output did not parse back: a bug, never a property of the config.
    #[error(
        "internal error: the encoded {message} is malformed at byte {offset} ({reason}); please report this bug"
    )]
    Malformed {
        message: &'static str,
        offset: usize,
        reason: &'static str,
    },
}

/// One resource, named, as it goes into a `DiscoveryResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedResource {
    pub name: String,
    pub resource: Any,
}

/// A proxy's configuration as deterministic bytes, each list sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodedConfig {
    pub listeners: Vec<EncodedResource>,
    pub routes: Vec<EncodedResource>,
    pub clusters: Vec<EncodedResource>,
    pub endpoints: Vec<EncodedResource>,
}

impl EncodedConfig {
    /// Total payload bytes of every resource.
    pub fn size(&self) -> usize {
        [
            &self.listeners,
            &self.routes,
            &self.clusters,
            &self.endpoints,
        ]
        .into_iter()
        .flatten()
        .map(|r| r.resource.value.len())
        .sum()
    }
}

impl ProxyConfig {
    /// Encodes every resource deterministically.
    pub fn encode(&self) -> Result<EncodedConfig, EncodeError> {
        fn all<M: Message + Name>(
            items: &[M],
            name: impl Fn(&M) -> &str,
        ) -> Result<Vec<EncodedResource>, EncodeError> {
            items
                .iter()
                .map(|m| {
                    Ok(EncodedResource {
                        name: name(m).to_string(),
                        resource: to_any(m)?,
                    })
                })
                .collect()
        }
        Ok(EncodedConfig {
            listeners: all(&self.listeners, |l: &Listener| &l.name)?,
            routes: all(&self.routes, |r: &RouteConfiguration| &r.name)?,
            clusters: all(&self.clusters, |c: &Cluster| &c.name)?,
            endpoints: all(&self.endpoints, |e: &ClusterLoadAssignment| &e.cluster_name)?,
        })
    }
}

/// `message` as an `Any` with deterministic bytes.
pub fn to_any<M: Message + Name>(message: &M) -> Result<Any, EncodeError> {
    Ok(Any {
        type_url: M::type_url(),
        value: encode(message)?,
    })
}

/// The deterministic encoding of `message`.
pub fn encode<M: Message + Name>(message: &M) -> Result<Vec<u8>, EncodeError> {
    let bytes = message.encode_to_vec();
    match schema_for(&M::full_name()) {
        Some(schema) => canonical(&bytes, schema),
        None => Ok(bytes),
    }
}

/// How a field of a listed message is rewritten.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// A (possibly repeated) message field.
    Message(&'static Schema),
    /// A `map<string, V>` field; the schema is V's.
    Map(&'static Schema),
}

#[derive(Debug)]
struct Schema {
    name: &'static str,
    fields: &'static [(u32, Field)],
}

static ANY: Schema = Schema {
    name: "google.protobuf.Any",
    fields: &[],
};
static STRUCT: Schema = Schema {
    name: "google.protobuf.Struct",
    fields: &[(1, Field::Map(&VALUE))],
};
static VALUE: Schema = Schema {
    name: "google.protobuf.Value",
    fields: &[
        (5, Field::Message(&STRUCT)),
        (6, Field::Message(&LIST_VALUE)),
    ],
};
static LIST_VALUE: Schema = Schema {
    name: "google.protobuf.ListValue",
    fields: &[(1, Field::Message(&VALUE))],
};
static METADATA: Schema = Schema {
    name: "envoy.config.core.v3.Metadata",
    fields: &[(1, Field::Map(&STRUCT)), (2, Field::Map(&ANY))],
};
static TRANSPORT_SOCKET: Schema = Schema {
    name: "envoy.config.core.v3.TransportSocket",
    fields: &[(3, Field::Message(&ANY))],
};
static CLUSTER: Schema = Schema {
    name: "envoy.config.cluster.v3.Cluster",
    fields: &[
        (24, Field::Message(&TRANSPORT_SOCKET)),
        (25, Field::Message(&METADATA)),
        (33, Field::Message(&CLUSTER_LOAD_ASSIGNMENT)),
        (36, Field::Map(&ANY)),
    ],
};
static CLUSTER_LOAD_ASSIGNMENT: Schema = Schema {
    name: "envoy.config.endpoint.v3.ClusterLoadAssignment",
    fields: &[(2, Field::Message(&LOCALITY_LB_ENDPOINTS))],
};
static LOCALITY_LB_ENDPOINTS: Schema = Schema {
    name: "envoy.config.endpoint.v3.LocalityLbEndpoints",
    fields: &[
        (2, Field::Message(&LB_ENDPOINT)),
        (9, Field::Message(&METADATA)),
    ],
};
static LB_ENDPOINT: Schema = Schema {
    name: "envoy.config.endpoint.v3.LbEndpoint",
    fields: &[(3, Field::Message(&METADATA))],
};
static ROUTE_CONFIGURATION: Schema = Schema {
    name: "envoy.config.route.v3.RouteConfiguration",
    fields: &[
        (2, Field::Message(&VIRTUAL_HOST)),
        (16, Field::Map(&ANY)),
        (17, Field::Message(&METADATA)),
    ],
};
static VIRTUAL_HOST: Schema = Schema {
    name: "envoy.config.route.v3.VirtualHost",
    fields: &[
        (3, Field::Message(&ROUTE)),
        (15, Field::Map(&ANY)),
        (24, Field::Message(&METADATA)),
    ],
};
static ROUTE: Schema = Schema {
    name: "envoy.config.route.v3.Route",
    fields: &[
        (2, Field::Message(&ROUTE_ACTION)),
        (4, Field::Message(&METADATA)),
        (13, Field::Map(&ANY)),
    ],
};
static ROUTE_ACTION: Schema = Schema {
    name: "envoy.config.route.v3.RouteAction",
    fields: &[
        (3, Field::Message(&WEIGHTED_CLUSTER)),
        (4, Field::Message(&METADATA)),
    ],
};
static WEIGHTED_CLUSTER: Schema = Schema {
    name: "envoy.config.route.v3.WeightedCluster",
    fields: &[(1, Field::Message(&CLUSTER_WEIGHT))],
};
static CLUSTER_WEIGHT: Schema = Schema {
    name: "envoy.config.route.v3.WeightedCluster.ClusterWeight",
    fields: &[(3, Field::Message(&METADATA)), (10, Field::Map(&ANY))],
};
static LISTENER: Schema = Schema {
    name: "envoy.config.listener.v3.Listener",
    fields: &[
        (3, Field::Message(&FILTER_CHAIN)),
        (6, Field::Message(&METADATA)),
        (25, Field::Message(&FILTER_CHAIN)),
    ],
};
static FILTER_CHAIN: Schema = Schema {
    name: "envoy.config.listener.v3.FilterChain",
    fields: &[
        (3, Field::Message(&FILTER)),
        (5, Field::Message(&METADATA)),
        (6, Field::Message(&TRANSPORT_SOCKET)),
    ],
};
static FILTER: Schema = Schema {
    name: "envoy.config.listener.v3.Filter",
    fields: &[(4, Field::Message(&ANY))],
};
static HTTP_CONNECTION_MANAGER: Schema = Schema {
    name: "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
    fields: &[
        (4, Field::Message(&ROUTE_CONFIGURATION)),
        (5, Field::Message(&HTTP_FILTER)),
        (13, Field::Message(&ACCESS_LOG)),
    ],
};
static ACCESS_LOG: Schema = Schema {
    name: "envoy.config.accesslog.v3.AccessLog",
    fields: &[(4, Field::Message(&ANY))],
};
/// An access log's JSON format is a `Struct`.
static FILE_ACCESS_LOG: Schema = Schema {
    name: "envoy.extensions.access_loggers.file.v3.FileAccessLog",
    fields: &[
        (3, Field::Message(&STRUCT)),
        (4, Field::Message(&STRUCT)),
        (5, Field::Message(&SUBSTITUTION_FORMAT_STRING)),
    ],
};
static SUBSTITUTION_FORMAT_STRING: Schema = Schema {
    name: "envoy.config.core.v3.SubstitutionFormatString",
    fields: &[(2, Field::Message(&STRUCT))],
};
static HTTP_FILTER: Schema = Schema {
    name: "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
    fields: &[(4, Field::Message(&ANY))],
};
/// The RBAC HTTP filter: `rules` and `shadow_rules` hold the `policies` map.
static RBAC_FILTER: Schema = Schema {
    name: "envoy.extensions.filters.http.rbac.v3.RBAC",
    fields: &[
        (1, Field::Message(&RBAC_RULES)),
        (2, Field::Message(&RBAC_RULES)),
    ],
};
static RBAC_RULES: Schema = Schema {
    name: "envoy.config.rbac.v3.RBAC",
    fields: &[(2, Field::Map(&RBAC_POLICY))],
};
/// An RBAC policy holds no maps (its metadata matchers are paths, not maps).
static RBAC_POLICY: Schema = Schema {
    name: "envoy.config.rbac.v3.Policy",
    fields: &[],
};

/// Messages that may be the top level or an `Any` payload.
static SCHEMAS: &[&Schema] = &[
    &CLUSTER,
    &CLUSTER_LOAD_ASSIGNMENT,
    &LISTENER,
    &ROUTE_CONFIGURATION,
    &HTTP_CONNECTION_MANAGER,
    &RBAC_FILTER,
    &FILE_ACCESS_LOG,
    &STRUCT,
    &METADATA,
];

fn schema_for(full_name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().copied().find(|s| s.name == full_name)
}

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// A cursor over wire bytes that reports where it failed.
struct Reader<'b> {
    bytes: &'b [u8],
    pos: usize,
    message: &'static str,
}

impl<'b> Reader<'b> {
    fn error(&self, reason: &'static str) -> EncodeError {
        EncodeError::Malformed {
            message: self.message,
            offset: self.pos,
            reason,
        }
    }

    fn varint(&mut self) -> Result<u64, EncodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8], EncodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error("field runs past the end"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
}

fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len_field(tag: u32, payload: &[u8], out: &mut Vec<u8>) {
    put_varint((u64::from(tag) << 3) | LEN, out);
    put_varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// One top-level field of a message being rewritten.
enum Piece<'b> {
    /// Copied (or already rewritten) bytes, tag included.
    Bytes(Vec<u8>),
    /// The entries of one map field, each `(key bytes, rewritten entry payload)`.
    Map(u32, Vec<(&'b [u8], Vec<u8>)>),
}

fn canonical(bytes: &[u8], schema: &'static Schema) -> Result<Vec<u8>, EncodeError> {
    if std::ptr::eq(schema, &ANY) {
        return canonical_any(bytes);
    }
    let mut r = Reader {
        bytes,
        pos: 0,
        message: schema.name,
    };
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    while r.pos < bytes.len() {
        let start = r.pos;
        let key = r.varint()?;
        let tag = u32::try_from(key >> 3).map_err(|_| r.error("field number too large"))?;
        match key & 7 {
            VARINT => {
                r.varint()?;
            }
            FIXED64 => {
                r.take(8)?;
            }
            FIXED32 => {
                r.take(4)?;
            }
            LEN => {
                let len = usize::try_from(r.varint()?).map_err(|_| r.error("length too large"))?;
                let payload = r.take(len)?;
                match schema
                    .fields
                    .iter()
                    .find(|(t, _)| *t == tag)
                    .map(|(_, f)| *f)
                {
                    Some(Field::Message(inner)) => {
                        let mut out = Vec::with_capacity(payload.len() + 4);
                        put_len_field(tag, &canonical(payload, inner)?, &mut out);
                        pieces.push(Piece::Bytes(out));
                        continue;
                    }
                    Some(Field::Map(value)) => {
                        let entry = map_entry(payload, value)?;
                        match pieces.iter_mut().find_map(|p| match p {
                            Piece::Map(t, entries) if *t == tag => Some(entries),
                            _ => None,
                        }) {
                            Some(entries) => entries.push(entry),
                            None => pieces.push(Piece::Map(tag, vec![entry])),
                        }
                        continue;
                    }
                    None => {}
                }
            }
            _ => return Err(r.error("groups are not used by Envoy's API")),
        }
        pieces.push(Piece::Bytes(bytes[start..r.pos].to_vec()));
    }
    let mut out = Vec::with_capacity(bytes.len());
    for piece in pieces {
        match piece {
            Piece::Bytes(b) => out.extend_from_slice(&b),
            Piece::Map(tag, mut entries) => {
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (_, entry) in entries {
                    put_len_field(tag, &entry, &mut out);
                }
            }
        }
    }
    Ok(out)
}

/// A map entry (`key = 1`, `value = 2`) with its value rewritten; returns the key's bytes for
/// sorting and the entry's new payload.
fn map_entry<'b>(
    payload: &'b [u8],
    value_schema: &'static Schema,
) -> Result<(&'b [u8], Vec<u8>), EncodeError> {
    let mut r = Reader {
        bytes: payload,
        pos: 0,
        message: "map entry",
    };
    let mut key: &[u8] = &[];
    let mut out = Vec::with_capacity(payload.len());
    while r.pos < payload.len() {
        let start = r.pos;
        let k = r.varint()?;
        let (tag, wire) = (k >> 3, k & 7);
        if wire != LEN {
            return Err(r.error("map entries here have string keys and message values"));
        }
        let len = usize::try_from(r.varint()?).map_err(|_| r.error("length too large"))?;
        let field = r.take(len)?;
        match tag {
            1 => {
                key = field;
                out.extend_from_slice(&payload[start..r.pos]);
            }
            2 => put_len_field(2, &canonical(field, value_schema)?, &mut out),
            _ => return Err(r.error("unexpected field in a map entry")),
        }
    }
    Ok((key, out))
}

/// `Any`: the payload is rewritten when its type is listed.
/// Packs `message` into an `Any` whose bytes are already canonical, for payloads with maps
/// built during translation (the RBAC filter's `policies`): the resource then equals its own
/// decoded encoding, and hashes the same however its maps iterate.
pub fn pack_canonical<M: Message + Name>(message: &M) -> Any {
    let value = message.encode_to_vec();
    let value = match schema_for(&M::full_name()) {
        // prost's own bytes always parse; should they not, the plain bytes still mean the same.
        Some(schema) => canonical(&value, schema).unwrap_or(value),
        None => value,
    };
    Any {
        type_url: M::type_url(),
        value,
    }
}

fn canonical_any(bytes: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let any = Any::decode(bytes).map_err(|_| EncodeError::Malformed {
        message: "google.protobuf.Any",
        offset: 0,
        reason: "does not decode",
    })?;
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    let Some(schema) = schema_for(name) else {
        return Ok(bytes.to_vec());
    };
    let value = canonical(&any.value, schema)?;
    Ok(Any {
        type_url: any.type_url,
        value,
    }
    .encode_to_vec())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use envoy_types::pb::envoy::config::core::v3::Metadata;
    use envoy_types::pb::google::protobuf::{Struct, Value, value};

    use super::*;

    fn metadata_with(keys: &[&str]) -> Cluster {
        let fields: HashMap<String, Value> = keys
            .iter()
            .map(|k| {
                (
                    k.to_string(),
                    Value {
                        kind: Some(value::Kind::StringValue(format!("v-{k}"))),
                    },
                )
            })
            .collect();
        Cluster {
            name: "c".into(),
            metadata: Some(Metadata {
                filter_metadata: HashMap::from([
                    (
                        "istio".to_string(),
                        Struct {
                            fields: fields.clone(),
                        },
                    ),
                    ("other".to_string(), Struct { fields }),
                ]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn equal_maps_encode_to_equal_bytes_and_decode_back() {
        let keys: Vec<String> = (0..40).map(|i| format!("key{i}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let first = encode(&metadata_with(&keys)).expect("encodes");
        let mut reversed = keys.clone();
        reversed.reverse();
        for _ in 0..5 {
            // Fresh HashMaps iterate in fresh orders; the bytes must not change.
            assert_eq!(encode(&metadata_with(&reversed)).expect("encodes"), first);
        }
        assert_eq!(
            Cluster::decode(first.as_slice()).expect("decodes"),
            metadata_with(&keys)
        );
        // Plain prost output differs between such maps at least sometimes; ours is sorted.
        let text = String::from_utf8_lossy(&first);
        let positions: Vec<usize> = ["v-key0", "v-key1", "v-key10"]
            .iter()
            .filter_map(|k| text.find(k))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    #[test]
    fn malformed_bytes_are_an_error_not_a_panic() {
        let err = canonical(&[0x0a, 0x05, 0x01], &CLUSTER).expect_err("truncated");
        assert!(
            err.to_string().contains("envoy.config.cluster.v3.Cluster"),
            "{err}"
        );
    }
}
