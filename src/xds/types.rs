//! The resource vocabulary of the xDS wire: the five Envoy v3 type URLs Ferry serves (and the
//! types istiod reports in a proxy's sync status), packing and unpacking of `Any`, and the
//! [`Snapshot`] a control plane computes for one proxy.
//!
//! Versions are content hashes, so a snapshot rebuilt from unchanged config carries the same
//! version as before and the server can skip every proxy (and every type) whose view did not
//! change, without comparing resources one by one on each push.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::google::protobuf::Any;

/// `type.googleapis.com/envoy.config.listener.v3.Listener` (LDS).
pub const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
/// `type.googleapis.com/envoy.config.route.v3.RouteConfiguration` (RDS).
pub const ROUTE_CONFIGURATION: &str =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
/// `type.googleapis.com/envoy.config.cluster.v3.Cluster` (CDS).
pub const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
/// `type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment` (EDS).
pub const CLUSTER_LOAD_ASSIGNMENT: &str =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
/// `type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret` (SDS).
pub const SECRET: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
/// ECDS: not served by Ferry, but istiod always reports it, so tables keep their columns.
pub const EXTENSION_CONFIG: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";

/// The types istiod reports in every proxy's sync status, watched or not (`UNKNOWN` when not
/// watched), so proxy-status always has their columns: CDS, LDS, EDS, RDS, then ECDS.
pub const REPORTED_TYPES: [&str; 5] = [
    CLUSTER,
    LISTENER,
    CLUSTER_LOAD_ASSIGNMENT,
    ROUTE_CONFIGURATION,
    EXTENSION_CONFIG,
];

/// The resource types Ferry's control plane serves and its proxy honours.
///
/// Declaration order is the order the server pushes in when several types change at once:
/// clusters before their endpoints, listeners before their routes, which is Envoy's
/// "make before break" sequence (a route never points at a cluster the proxy does not know yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeUrl {
    Cluster,
    ClusterLoadAssignment,
    Listener,
    RouteConfiguration,
    Secret,
}

impl TypeUrl {
    /// Every type, in push order.
    pub const ALL: [TypeUrl; 5] = [
        TypeUrl::Cluster,
        TypeUrl::ClusterLoadAssignment,
        TypeUrl::Listener,
        TypeUrl::RouteConfiguration,
        TypeUrl::Secret,
    ];

    /// The full type URL, as it appears in requests, responses and `Any`.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeUrl::Cluster => CLUSTER,
            TypeUrl::ClusterLoadAssignment => CLUSTER_LOAD_ASSIGNMENT,
            TypeUrl::Listener => LISTENER,
            TypeUrl::RouteConfiguration => ROUTE_CONFIGURATION,
            TypeUrl::Secret => SECRET,
        }
    }

    /// The type for a type URL, or `None` for one Ferry does not serve.
    pub fn parse(url: &str) -> Option<TypeUrl> {
        TypeUrl::ALL.into_iter().find(|t| t.as_str() == url)
    }

    /// The short name Istio and Envoy print (`CDS`, `EDS`, `LDS`, `RDS`, `SDS`).
    pub fn short_name(self) -> &'static str {
        match self {
            TypeUrl::Cluster => "CDS",
            TypeUrl::ClusterLoadAssignment => "EDS",
            TypeUrl::Listener => "LDS",
            TypeUrl::RouteConfiguration => "RDS",
            TypeUrl::Secret => "SDS",
        }
    }

    /// Whether an empty `resource_names` means "everything" (LDS and CDS, per the xDS spec) rather
    /// than "nothing".
    pub fn is_wildcard(self) -> bool {
        matches!(self, TypeUrl::Cluster | TypeUrl::Listener)
    }
}

impl std::fmt::Display for TypeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors from packing, unpacking and assembling resources.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypesError {
    #[error("resource has type {actual}, expected {expected}")]
    WrongType { expected: String, actual: String },
    #[error("cannot decode {type_url}: {message}")]
    Decode { type_url: String, message: String },
    #[error("type {0} is not served over xDS by Ferry")]
    UnsupportedType(String),
    #[error("{type_url} resource {name:?} appears twice in one snapshot")]
    DuplicateName { type_url: TypeUrl, name: String },
    #[error("{type_url} resource has an empty name")]
    EmptyName { type_url: TypeUrl },
}

/// Decodes an `Any` into `M`, refusing one whose type URL is not `M`'s: prost would otherwise
/// happily decode the bytes of a different message into garbage fields.
pub fn unpack_any<M: prost::Name + prost::Message + Default>(any: &Any) -> Result<M, TypesError> {
    let expected = M::type_url();
    if any.type_url != expected {
        return Err(TypesError::WrongType {
            expected,
            actual: any.type_url.clone(),
        });
    }
    M::decode(any.value.as_slice()).map_err(|e| TypesError::Decode {
        type_url: any.type_url.clone(),
        message: e.to_string(),
    })
}

/// Packs a message into an `Any` (envoy-types' `pack_any`, re-exported so callers need one import).
pub use envoy_types::util::pack_any;

/// An Envoy message that is an xDS resource: it knows its type and its name.
pub trait XdsMessage: prost::Name + prost::Message + Default + Clone + PartialEq {
    const TYPE: TypeUrl;
    /// The name the resource is subscribed and addressed by.
    fn resource_name(&self) -> &str;
}

impl XdsMessage for Listener {
    const TYPE: TypeUrl = TypeUrl::Listener;
    fn resource_name(&self) -> &str {
        &self.name
    }
}

impl XdsMessage for RouteConfiguration {
    const TYPE: TypeUrl = TypeUrl::RouteConfiguration;
    fn resource_name(&self) -> &str {
        &self.name
    }
}

impl XdsMessage for Cluster {
    const TYPE: TypeUrl = TypeUrl::Cluster;
    fn resource_name(&self) -> &str {
        &self.name
    }
}

impl XdsMessage for ClusterLoadAssignment {
    const TYPE: TypeUrl = TypeUrl::ClusterLoadAssignment;
    fn resource_name(&self) -> &str {
        &self.cluster_name
    }
}

impl XdsMessage for Secret {
    const TYPE: TypeUrl = TypeUrl::Secret;
    fn resource_name(&self) -> &str {
        &self.name
    }
}

/// A decoded resource of one of the five served types, as the proxy receives it.
///
/// Boxed because the generated messages are large and of very different sizes.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedResource {
    Cluster(Box<Cluster>),
    ClusterLoadAssignment(Box<ClusterLoadAssignment>),
    Listener(Box<Listener>),
    RouteConfiguration(Box<RouteConfiguration>),
    Secret(Box<Secret>),
}

impl TypedResource {
    /// Decodes an `Any` of any served type.
    pub fn decode(any: &Any) -> Result<TypedResource, TypesError> {
        let Some(type_url) = TypeUrl::parse(&any.type_url) else {
            return Err(TypesError::UnsupportedType(any.type_url.clone()));
        };
        Ok(match type_url {
            TypeUrl::Cluster => TypedResource::Cluster(Box::new(unpack_any(any)?)),
            TypeUrl::ClusterLoadAssignment => {
                TypedResource::ClusterLoadAssignment(Box::new(unpack_any(any)?))
            }
            TypeUrl::Listener => TypedResource::Listener(Box::new(unpack_any(any)?)),
            TypeUrl::RouteConfiguration => {
                TypedResource::RouteConfiguration(Box::new(unpack_any(any)?))
            }
            TypeUrl::Secret => TypedResource::Secret(Box::new(unpack_any(any)?)),
        })
    }

    pub fn type_url(&self) -> TypeUrl {
        match self {
            TypedResource::Cluster(_) => TypeUrl::Cluster,
            TypedResource::ClusterLoadAssignment(_) => TypeUrl::ClusterLoadAssignment,
            TypedResource::Listener(_) => TypeUrl::Listener,
            TypedResource::RouteConfiguration(_) => TypeUrl::RouteConfiguration,
            TypedResource::Secret(_) => TypeUrl::Secret,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            TypedResource::Cluster(m) => m.resource_name(),
            TypedResource::ClusterLoadAssignment(m) => m.resource_name(),
            TypedResource::Listener(m) => m.resource_name(),
            TypedResource::RouteConfiguration(m) => m.resource_name(),
            TypedResource::Secret(m) => m.resource_name(),
        }
    }
}

/// One named resource as it goes on the wire, with a hash of its encoded bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    name: String,
    any: Any,
    hash: u64,
}

impl Resource {
    /// A resource from an already packed `Any`. The type is checked when the resource is added to
    /// a [`Snapshot`], not here, so callers can build resources before knowing where they go.
    pub fn new(name: impl Into<String>, any: Any) -> Resource {
        let hash = content_hash(&any);
        Resource {
            name: name.into(),
            any,
            hash,
        }
    }

    /// Packs a typed Envoy message under its own name.
    pub fn from_message<M: XdsMessage>(message: M) -> Resource {
        let name = message.resource_name().to_string();
        Resource::new(name, pack_any(message))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn any(&self) -> &Any {
        &self.any
    }

    /// The served type of this resource, or `None` when its `Any` holds something else.
    pub fn type_url(&self) -> Option<TypeUrl> {
        TypeUrl::parse(&self.any.type_url)
    }

    /// Decodes the resource as `M`, checking the type URL.
    pub fn unpack<M: XdsMessage>(&self) -> Result<M, TypesError> {
        unpack_any(&self.any)
    }

    /// Whether two resources mean the same thing even if their bytes differ. prost encodes
    /// `map<>` fields (metadata `Struct`s, `typed_extension_protocol_options`) from a `HashMap`,
    /// whose order differs between two maps with the same entries; comparing the decoded
    /// messages sees through that, because `HashMap` equality ignores order.
    fn same_content(&self, other: &Resource) -> bool {
        if self.hash == other.hash && self.any == other.any {
            return true;
        }
        if self.any.type_url != other.any.type_url {
            return false;
        }
        match (
            TypedResource::decode(&self.any),
            TypedResource::decode(&other.any),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// A stable hash of a resource's bytes. `DefaultHasher::new()` uses fixed keys, so the value is
/// the same in every process built by the same compiler; a version only has to be stable for as
/// long as proxies keep it, and a proxy that reconnects to a control plane built differently just
/// receives its (identical) config once more.
fn content_hash(any: &Any) -> u64 {
    let mut h = DefaultHasher::new();
    any.type_url.hash(&mut h);
    any.value.hash(&mut h);
    h.finish()
}

fn version_string(hash: u64) -> String {
    format!("{hash:016x}")
}

/// The resources of one type in a snapshot, ordered by name, and their content version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypeResources {
    version: String,
    resources: BTreeMap<String, Resource>,
}

impl TypeResources {
    fn new(resources: BTreeMap<String, Resource>) -> TypeResources {
        let mut h = DefaultHasher::new();
        for (name, r) in &resources {
            name.hash(&mut h);
            r.hash.hash(&mut h);
        }
        TypeResources {
            version: version_string(h.finish()),
            resources,
        }
    }

    /// The version of the whole set: what a wildcard (LDS/CDS) subscriber is sent.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn resources(&self) -> &BTreeMap<String, Resource> {
        &self.resources
    }

    pub fn get(&self, name: &str) -> Option<&Resource> {
        self.resources.get(name)
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The version of the subset a named (RDS/EDS/SDS) subscriber watches. Names that do not
    /// exist count too, so the version changes when one of them appears; resources outside the
    /// subset do not, so a proxy is not pushed routes it never asked for.
    pub fn version_for(&self, names: &BTreeSet<String>) -> String {
        let mut h = DefaultHasher::new();
        for name in names {
            name.hash(&mut h);
            self.resources.get(name).map(|r| r.hash).hash(&mut h);
        }
        version_string(h.finish())
    }

    /// The resources of the subset, in name order; names without a resource are skipped.
    pub fn select<'a>(&'a self, names: &'a BTreeSet<String>) -> impl Iterator<Item = &'a Resource> {
        names.iter().filter_map(|n| self.resources.get(n))
    }
}

/// Everything one proxy should have: per type, the resources by name and a content version.
///
/// Cheap to share (`Arc<Snapshot>`): the server keeps the last one per connection and compares
/// versions, never resources, when the config changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    types: [TypeResources; 5],
}

impl Default for Snapshot {
    fn default() -> Snapshot {
        Snapshot::builder().build()
    }
}

impl Snapshot {
    pub fn builder() -> SnapshotBuilder {
        SnapshotBuilder::default()
    }

    /// The resources and version of one type.
    pub fn of(&self, type_url: TypeUrl) -> &TypeResources {
        &self.types[index(type_url)]
    }

    /// The version of one type as a whole.
    pub fn version(&self, type_url: TypeUrl) -> &str {
        self.of(type_url).version()
    }
}

fn index(type_url: TypeUrl) -> usize {
    match type_url {
        TypeUrl::Cluster => 0,
        TypeUrl::ClusterLoadAssignment => 1,
        TypeUrl::Listener => 2,
        TypeUrl::RouteConfiguration => 3,
        TypeUrl::Secret => 4,
    }
}

/// Collects resources for a [`Snapshot`], refusing unknown types, empty and duplicate names.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    types: [BTreeMap<String, Resource>; 5],
}

impl SnapshotBuilder {
    /// Adds one resource; its type comes from its `Any`.
    pub fn add(&mut self, resource: Resource) -> Result<&mut SnapshotBuilder, TypesError> {
        let Some(type_url) = resource.type_url() else {
            return Err(TypesError::UnsupportedType(resource.any.type_url.clone()));
        };
        if resource.name.is_empty() {
            return Err(TypesError::EmptyName { type_url });
        }
        let map = &mut self.types[index(type_url)];
        if map.contains_key(&resource.name) {
            return Err(TypesError::DuplicateName {
                type_url,
                name: resource.name,
            });
        }
        map.insert(resource.name.clone(), resource);
        Ok(self)
    }

    /// Packs and adds a typed message.
    pub fn add_message<M: XdsMessage>(
        &mut self,
        message: M,
    ) -> Result<&mut SnapshotBuilder, TypesError> {
        self.add(Resource::from_message(message))
    }

    /// The snapshot, with versions hashed from the resources' bytes.
    pub fn build(self) -> Snapshot {
        Snapshot {
            types: self.types.map(TypeResources::new),
        }
    }

    /// The snapshot, keeping `previous`'s copy of every resource that means the same as the new
    /// one. Use this when rebuilding from scratch: a resource with `map<>` fields can encode in a
    /// different byte order each time it is built, and without this its version (and every
    /// proxy's) would change on every rebuild although nothing did.
    pub fn build_reusing(mut self, previous: &Snapshot) -> Snapshot {
        for (i, map) in self.types.iter_mut().enumerate() {
            let old = &previous.types[i].resources;
            for (name, resource) in map.iter_mut() {
                if let Some(prev) = old.get(name)
                    && prev.hash != resource.hash
                    && resource.same_content(prev)
                {
                    *resource = prev.clone();
                }
            }
        }
        self.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::core::v3::Metadata;
    use envoy_types::pb::google::protobuf::{Struct, Value, value::Kind};
    use std::collections::HashMap;

    fn cluster(name: &str, timeout_s: i64) -> Cluster {
        Cluster {
            name: name.into(),
            connect_timeout: Some(envoy_types::pb::google::protobuf::Duration {
                seconds: timeout_s,
                nanos: 0,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn type_urls_match_envoy_names() {
        assert_eq!(
            TypeUrl::Listener.as_str(),
            <Listener as prost::Name>::type_url()
        );
        assert_eq!(
            TypeUrl::Cluster.as_str(),
            <Cluster as prost::Name>::type_url()
        );
        assert_eq!(
            TypeUrl::RouteConfiguration.as_str(),
            <RouteConfiguration as prost::Name>::type_url()
        );
        assert_eq!(
            TypeUrl::ClusterLoadAssignment.as_str(),
            <ClusterLoadAssignment as prost::Name>::type_url()
        );
        assert_eq!(
            TypeUrl::Secret.as_str(),
            <Secret as prost::Name>::type_url()
        );
        for t in TypeUrl::ALL {
            assert_eq!(TypeUrl::parse(t.as_str()), Some(t));
        }
        assert_eq!(TypeUrl::parse("type.googleapis.com/foo.Bar"), None);
        assert_eq!(TypeUrl::parse(""), None);
    }

    #[test]
    fn unpack_checks_the_type_url() {
        let any = pack_any(cluster("a", 1));
        let back: Cluster = unpack_any(&any).expect("same type");
        assert_eq!(back.name, "a");
        let err = unpack_any::<Listener>(&any).expect_err("different type");
        assert_eq!(
            err.to_string(),
            format!("resource has type {CLUSTER}, expected {LISTENER}")
        );
        let garbage = Any {
            type_url: CLUSTER.into(),
            value: vec![0xff, 0xff, 0xff],
        };
        assert!(matches!(
            unpack_any::<Cluster>(&garbage),
            Err(TypesError::Decode { .. })
        ));
    }

    #[test]
    fn snapshot_versions_follow_content() {
        let build = |t| {
            let mut b = Snapshot::builder();
            b.add_message(cluster("a", t)).unwrap();
            b.add_message(cluster("b", 1)).unwrap();
            b.build()
        };
        let one = build(1);
        assert_eq!(
            one.version(TypeUrl::Cluster),
            build(1).version(TypeUrl::Cluster)
        );
        assert_ne!(
            one.version(TypeUrl::Cluster),
            build(2).version(TypeUrl::Cluster)
        );
        // Other types are untouched by a cluster change.
        assert_eq!(
            one.version(TypeUrl::Listener),
            build(2).version(TypeUrl::Listener)
        );
        // Order of insertion does not matter.
        let mut b = Snapshot::builder();
        b.add_message(cluster("b", 1)).unwrap();
        b.add_message(cluster("a", 1)).unwrap();
        assert_eq!(b.build(), one);
    }

    #[test]
    fn subset_versions_ignore_unwatched_resources() {
        let build = |b_timeout| {
            let mut b = Snapshot::builder();
            b.add_message(cluster("a", 1)).unwrap();
            b.add_message(cluster("b", b_timeout)).unwrap();
            b.build()
        };
        let names: BTreeSet<String> = ["a".to_string(), "missing".to_string()].into();
        let (one, two) = (build(1), build(2));
        let cds = TypeUrl::Cluster;
        assert_eq!(
            one.of(cds).version_for(&names),
            two.of(cds).version_for(&names)
        );
        let with_b: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        assert_ne!(
            one.of(cds).version_for(&with_b),
            two.of(cds).version_for(&with_b)
        );
        let selected: Vec<_> = one.of(cds).select(&names).map(|r| r.name()).collect();
        assert_eq!(selected, ["a"]);
    }

    #[test]
    fn builder_refuses_duplicates_empty_names_and_foreign_types() {
        let mut b = Snapshot::builder();
        b.add_message(cluster("a", 1)).unwrap();
        assert_eq!(
            b.add_message(cluster("a", 2)).unwrap_err().to_string(),
            format!("{CLUSTER} resource \"a\" appears twice in one snapshot")
        );
        assert!(matches!(
            b.add_message(cluster("", 2)),
            Err(TypesError::EmptyName { .. })
        ));
        let foreign = Resource::new("x", pack_any(Struct::default()));
        assert_eq!(
            b.add(foreign).unwrap_err().to_string(),
            "type type.googleapis.com/google.protobuf.Struct is not served over xDS by Ferry"
        );
    }

    fn with_metadata(keys: &[&str]) -> Cluster {
        // Build the map in the given order; HashMap iteration order is per-map random anyway.
        let fields: HashMap<String, Value> = keys
            .iter()
            .map(|k| {
                (
                    k.to_string(),
                    Value {
                        kind: Some(Kind::StringValue(format!("v-{k}"))),
                    },
                )
            })
            .collect();
        Cluster {
            name: "meta".into(),
            metadata: Some(Metadata {
                filter_metadata: [("istio".to_string(), Struct { fields })].into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn rebuilding_keeps_versions_despite_map_order() {
        let keys: Vec<String> = (0..16).map(|i| format!("key{i}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut reversed = keys.clone();
        reversed.reverse();
        let mut b = Snapshot::builder();
        b.add_message(with_metadata(&keys)).unwrap();
        let first = b.build();
        // Rebuild many times: with 16 entries, at least one rebuild encodes in another order.
        for _ in 0..8 {
            let mut b = Snapshot::builder();
            b.add_message(with_metadata(&reversed)).unwrap();
            let again = b.build_reusing(&first);
            assert_eq!(
                again.version(TypeUrl::Cluster),
                first.version(TypeUrl::Cluster)
            );
        }
        // Without reuse the same content does get new versions, which is why reuse exists.
        let churned = (0..8).any(|_| {
            let mut b = Snapshot::builder();
            b.add_message(with_metadata(&reversed)).unwrap();
            b.build().version(TypeUrl::Cluster) != first.version(TypeUrl::Cluster)
        });
        assert!(churned, "prost map encoding order was stable in 8 rebuilds");
        // A real change still changes the version.
        let mut b = Snapshot::builder();
        b.add_message(with_metadata(&keys[..15])).unwrap();
        let changed = b.build_reusing(&first);
        assert_ne!(
            changed.version(TypeUrl::Cluster),
            first.version(TypeUrl::Cluster)
        );
    }

    #[test]
    fn typed_resources_know_their_names() {
        let r = TypedResource::decode(&pack_any(ClusterLoadAssignment {
            cluster_name: "outbound|80||a.ns.svc.cluster.local".into(),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(r.type_url(), TypeUrl::ClusterLoadAssignment);
        assert_eq!(r.name(), "outbound|80||a.ns.svc.cluster.local");
        assert!(matches!(
            TypedResource::decode(&pack_any(Struct::default())),
            Err(TypesError::UnsupportedType(_))
        ));
    }
}
