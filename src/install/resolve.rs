//! Settings: from profiles, `-f` files, `--set` flags and `-r` to one typed [`IstioOperator`], in
//! istioctl's order (`render.MergeInputs`):
//!
//! 1. `profiles/default.yaml`
//! 2. the selected profile: the last `--set profile=`, else the last file's `spec.profile`, else
//!    `default` (a value with `/` or `.` is a profile file)
//! 3. the compiled-in tag (ferryctl's version), when the profiles set none
//! 4. `-f` files, left to right
//! 5. `--set` flags, in order, on the merged tree (so `ingressGateways[0]` is the profile's gateway)
//! 6. `-r REV` (`default` means no revision)
//!
//! Every file and flag is checked against the schema before it is merged, so errors name the file
//! and line or the flag. The merged tree is decoded once. `--force` turns schema findings into
//! warnings and drops the offending fields, so decoding still succeeds. Components Ferry does not
//! run (`cni`, `ztunnel`) are errors when enabled, whatever `--force` says.

use serde_json::Value;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::iop::{IstioOperator, K8s};
use super::kube;
use super::overlay::{self, Document, OverlayError, OverlayFile};
use super::profile::{self, ProfileError};
use super::revision::{Revision, RevisionError};
use super::schema::{self, Finding, Problem};
use super::set::{self, Path, Segment, SetError, SetFlag};

/// The image tag used when no profile, file or flag sets one.
pub const COMPILED_IN_TAG: &str = env!("CARGO_PKG_VERSION");

/// Appended to a finding that `--force` turned into a warning.
const IGNORED: &str = " (ignored because of --force)";

/// What the user asked for: `-f` files (already read), `--set` flags, `-r` and `--force`.
#[derive(Debug, Clone, Default)]
pub struct ResolveInput {
    pub files: Vec<OverlayFile>,
    pub sets: Vec<String>,
    pub revision: Option<String>,
    pub force: bool,
}

/// The merged, validated IstioOperator and what was decided on the way.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `spec.profile` holds [`Resolved::profile`]; `spec.revision` holds [`Resolved::revision`]
    /// (never `default`); `spec.tag` is always set.
    pub iop: IstioOperator,
    /// The selected profile: a built-in name or a file path.
    pub profile: String,
    /// The control plane revision, `None` for the default (unrevisioned) control plane.
    pub revision: Option<Revision>,
    /// Validation findings skipped because of `--force`, for stderr.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Overlay(#[from] OverlayError),
    #[error(transparent)]
    Set(#[from] SetError),
    #[error("{}{error}", origin.as_deref().map(|o| format!("{o}: ")).unwrap_or_default())]
    Profile {
        /// The file and line that named the profile; `None` for `--set profile=`.
        origin: Option<String>,
        error: ProfileError,
    },
    /// Schema findings, each rendered with its file and line or its flag.
    #[error(
        "validation errors (use --force to drop these fields and proceed):\n{}",
        indent(.0)
    )]
    Invalid(Vec<String>),
    #[error("{origin}: {error}")]
    Revision {
        origin: &'static str,
        error: RevisionError,
    },
    #[error(
        "spec.revision is {spec:?} but spec.values.revision is {values:?}; set only one of them \
         (or -r)"
    )]
    RevisionConflict { spec: String, values: String },
    /// Values Kubernetes itself refuses (names, quantities, ports), each with its path.
    #[error(
        "invalid Kubernetes values (--force cannot skip these: the API server would reject the \
         objects they make):\n{}",
        indent(.0)
    )]
    Kubernetes(Vec<String>),
    #[error("{path}: {message}")]
    Decode { path: String, message: String },
    #[error("{path}: {reason}")]
    Unsupported {
        path: &'static str,
        reason: &'static str,
    },
}

fn indent(items: &[String]) -> String {
    items
        .iter()
        .map(|item| {
            item.lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Merges profiles, files and flags into one IstioOperator (see the module docs for the order).
pub fn resolve(input: &ResolveInput) -> Result<Resolved, ResolveError> {
    let schema = schema::istio_operator();
    let sets = input
        .sets
        .iter()
        .map(|s| SetFlag::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    // Schema findings, each rendered for the error and for the --force warning.
    let mut problems: Vec<(String, String)> = Vec::new();

    let mut files = Vec::new();
    for file in &input.files {
        let mut doc = Document::parse(&file.name, &file.text)?;
        check_document(&mut doc, &mut problems);
        files.push(doc);
    }

    let (profile, origin) = select_profile(&sets, &files);
    let mut tree = load_profile(profile::DEFAULT, None, &mut problems)?;
    if profile != profile::DEFAULT {
        overlay::merge(&mut tree, load_profile(&profile, origin, &mut problems)?);
    }
    if tree.pointer("/spec/tag").is_none_or(Value::is_null) {
        set_spec_field(&mut tree, "tag", Value::String(COMPILED_IN_TAG.into()))?;
    }
    // A file that moves the control plane with values.global.istioNamespace (and says nothing of
    // metadata.namespace) moves the IstioOperator too, as the --set form does below.
    let file_moves_namespace = files.iter().any(|d| {
        d.tree
            .pointer("/spec/values/global/istioNamespace")
            .is_some()
            && d.tree.pointer("/metadata/namespace").is_none()
    });
    for doc in files {
        overlay::merge(&mut tree, doc.tree);
    }

    for flag in &sets {
        let leaf = match schema.check_path(&flag.path) {
            Ok(leaf) => leaf,
            Err((segment, finding)) => {
                problems.push((
                    flag.error_at(segment, finding.to_string()).to_string(),
                    flag.error_at(segment, format!("{finding}{IGNORED}"))
                        .to_string(),
                ));
                continue;
            }
        };
        match schema::read_set_value(leaf, &flag.raw, &flag.value) {
            Ok(mut value) => {
                let findings = schema.check_set_value(&flag.path, &mut value);
                if findings.is_empty() {
                    flag.apply(&mut tree, value)?;
                }
                for finding in findings {
                    problems.push((
                        flag.error_at_value(finding.to_string()).to_string(),
                        flag.error_at_value(format!("{finding}{IGNORED}"))
                            .to_string(),
                    ));
                }
            }
            Err(expected) => {
                let finding = Finding {
                    path: flag.path.clone(),
                    problem: Problem::WrongType {
                        expected,
                        found: format!("{:?}", flag.raw),
                    },
                };
                problems.push((
                    flag.error_at_value(finding.to_string()).to_string(),
                    flag.error_at_value(format!("{finding}{IGNORED}"))
                        .to_string(),
                ));
            }
        }
    }

    if let Some(rev) = &input.revision {
        let rev = Revision::parse_optional(rev).map_err(|error| ResolveError::Revision {
            origin: "--revision",
            error,
        })?;
        if let Some(rev) = rev {
            set_spec_field(&mut tree, "revision", Value::String(rev.to_string()))?;
        }
    }

    let mut warnings = Vec::new();
    if !problems.is_empty() {
        if !input.force {
            return Err(ResolveError::Invalid(
                problems.into_iter().map(|(error, _)| error).collect(),
            ));
        }
        warnings.extend(problems.into_iter().map(|(_, warning)| warning));
    }

    set_spec_field(&mut tree, "profile", Value::String(profile.clone()))?;
    overlay::drop_nulls(&mut tree);
    let mut iop: IstioOperator =
        serde_path_to_error::deserialize(tree).map_err(|e| ResolveError::Decode {
            path: format!("{}", e.path()),
            message: e.into_inner().to_string(),
        })?;

    let problems = kubernetes_problems(&iop);
    if !problems.is_empty() {
        return Err(ResolveError::Kubernetes(problems));
    }

    // istioctl: `--set values.global.istioNamespace=x` also moves the IstioOperator there.
    if (file_moves_namespace
        || sets.iter().any(|f| {
            f.path.segments()
                == [
                    Segment::Key("spec".into()),
                    Segment::Key("values".into()),
                    Segment::Key("global".into()),
                    Segment::Key("istioNamespace".into()),
                ]
        }))
        && let Some(ns) = iop
            .spec
            .values
            .global
            .as_ref()
            .and_then(|g| g.istio_namespace.clone())
    {
        iop.metadata.namespace = Some(ns);
    }

    // The three places a namespace can be named end up agreeing, so every reader (renderer,
    // installer) sees one answer: spec.namespace wins, then metadata.namespace.
    let namespace = iop
        .spec
        .namespace
        .clone()
        .or_else(|| iop.metadata.namespace.clone())
        .or_else(|| {
            iop.spec
                .values
                .global
                .as_ref()
                .and_then(|g| g.istio_namespace.clone())
        })
        .unwrap_or_else(|| "istio-system".to_string());
    iop.metadata.namespace = Some(namespace.clone());
    iop.spec
        .values
        .global
        .get_or_insert_with(Default::default)
        .istio_namespace = Some(namespace);

    let revision = settle_revision(&mut iop)?;
    refuse_unsupported(&iop)?;
    Ok(Resolved {
        iop,
        profile,
        revision,
        warnings,
    })
}

/// Checks one document, records its findings with file and line, and drops the offending fields
/// (only kept when `--force` lets the findings through).
fn check_document(doc: &mut Document, problems: &mut Vec<(String, String)>) {
    let findings = schema::istio_operator().check_document(&mut doc.tree);
    let mut drop = Vec::new();
    for f in findings {
        let at = format!("{}:{}", doc.name, doc.line_of(&f.path));
        problems.push((format!("{at}: {f}"), format!("{at}: {f}{IGNORED}")));
        drop.push(f.path);
    }
    overlay::remove_paths(&mut doc.tree, drop);
}

/// The last `--set profile=`, else the last file's `spec.profile`, else `default`; with the
/// file and line that chose it.
fn select_profile(sets: &[SetFlag], files: &[Document]) -> (String, Option<String>) {
    if let Some(flag) = sets
        .iter()
        .rev()
        .find(|f| f.sets_spec_field("profile") && !f.raw.is_empty())
    {
        return (flag.raw.clone(), None);
    }
    for doc in files.iter().rev() {
        if let Some(name) = doc.tree.pointer("/spec/profile").and_then(Value::as_str)
            && !name.is_empty()
        {
            let path = Path::new(vec![
                Segment::Key("spec".into()),
                Segment::Key("profile".into()),
            ]);
            let origin = format!("{}:{}", doc.name, doc.line_of(&path));
            return (name.to_string(), Some(origin));
        }
    }
    (profile::DEFAULT.to_string(), None)
}

fn load_profile(
    name: &str,
    origin: Option<String>,
    problems: &mut Vec<(String, String)>,
) -> Result<Value, ResolveError> {
    let mut doc = profile::load(name).map_err(|error| ResolveError::Profile { origin, error })?;
    check_document(&mut doc, problems);
    Ok(doc.tree)
}

/// Sets `spec.<field>`. Checked documents hold a mapping at `spec`, so this cannot walk through
/// a scalar; if it ever did, the error says where.
fn set_spec_field(tree: &mut Value, field: &str, value: Value) -> Result<(), ResolveError> {
    let path = [Segment::Key("spec".into()), Segment::Key(field.into())];
    set::apply(tree, &path, value).map_err(|e| ResolveError::Decode {
        path: "spec".into(),
        message: e.message,
    })
}

/// One revision from `spec.revision` and `spec.values.revision` (istioctl copies the first into the
/// second, and user values win); `default` becomes none.
fn settle_revision(iop: &mut IstioOperator) -> Result<Option<Revision>, ResolveError> {
    let read = |origin: &'static str, value: Option<String>| match value {
        None => Ok(None),
        Some(v) => {
            Revision::parse_optional(&v).map_err(|error| ResolveError::Revision { origin, error })
        }
    };
    let spec = read("spec.revision", iop.spec.revision.take())?;
    let given_in_values = iop.spec.values.revision.is_some();
    let values = read("spec.values.revision", iop.spec.values.revision.take())?;
    let revision = match (spec, values) {
        (Some(s), Some(v)) if s != v => {
            return Err(ResolveError::RevisionConflict {
                spec: s.to_string(),
                values: v.to_string(),
            });
        }
        (s, v) => s.or(v),
    };
    iop.spec.revision = revision.as_ref().map(Revision::to_string);
    if given_in_values {
        iop.spec.values.revision = iop.spec.revision.clone();
    }
    Ok(revision)
}

/// Values that would make objects the API server rejects: namespaces and gateway names that are
/// not DNS labels, negative replica counts, resource quantities that are not quantities, Service
/// ports out of range or an empty port list. Gateways are named by their `name` (`[name:x]`, as
/// `--set` selects them), as their index in the merged list need not be the one the user wrote.
fn kubernetes_problems(iop: &IstioOperator) -> Vec<String> {
    let mut out = Vec::new();
    let spec = &iop.spec;
    let values = &spec.values;
    let global = values.global.as_ref();
    let namespace = |out: &mut Vec<String>, path: &str, ns: Option<&String>| {
        if let Some(ns) = ns.filter(|ns| !ns.is_empty())
            && let Some(problem) = kube::dns1123_label_problem(ns)
        {
            out.push(format!(
                "{path}: {ns:?} is not a DNS-1123 label: {problem} (a namespace is 1 to 63 \
                 lowercase letters, digits and '-', starting and ending with a letter or digit)"
            ));
        }
    };
    namespace(&mut out, "spec.namespace", spec.namespace.as_ref());
    namespace(
        &mut out,
        "metadata.namespace",
        iop.metadata.namespace.as_ref(),
    );
    namespace(
        &mut out,
        "spec.values.global.istioNamespace",
        global.and_then(|g| g.istio_namespace.as_ref()),
    );
    let pilot = &spec.components.pilot;
    namespace(
        &mut out,
        "spec.components.pilot.namespace",
        pilot.namespace.as_ref(),
    );
    k8s_problems(&mut out, "spec.components.pilot.k8s", pilot.k8s.as_ref());
    for (list, gateways) in [
        ("ingressGateways", &spec.components.ingress_gateways),
        ("egressGateways", &spec.components.egress_gateways),
    ] {
        for (i, gw) in gateways.iter().enumerate() {
            let path = match gw.name.as_deref().filter(|n| !n.is_empty()) {
                Some(name) => format!("spec.components.{list}[name:{name}]"),
                None => format!("spec.components.{list}[{i}]"),
            };
            if let Some(name) = gw.name.as_deref().filter(|n| !n.is_empty())
                && let Some(problem) = kube::dns1035_label_problem(name)
            {
                out.push(format!(
                    "{path}.name: {name:?} is not a DNS-1035 label: {problem} (it names the \
                     gateway's Service: 1 to 63 lowercase letters, digits and '-', starting with \
                     a letter and ending with a letter or digit)"
                ));
            }
            namespace(
                &mut out,
                &format!("{path}.namespace"),
                gw.namespace.as_ref(),
            );
            k8s_problems(&mut out, &format!("{path}.k8s"), gw.k8s.as_ref());
        }
    }
    let replicas = |out: &mut Vec<String>, path: &str, n: Option<i32>| {
        if let Some(n) = n.filter(|n| *n < 0) {
            out.push(format!("{path}: {n} is negative"));
        }
    };
    if let Some(p) = &values.pilot {
        replicas(&mut out, "spec.values.pilot.replicaCount", p.replica_count);
        resources_problems(
            &mut out,
            "spec.values.pilot.resources",
            p.resources.as_ref(),
        );
    }
    if let Some(g) = &values.gateways {
        for (chart, v) in [
            ("istio-ingressgateway", &g.istio_ingressgateway),
            ("istio-egressgateway", &g.istio_egressgateway),
        ] {
            if let Some(v) = v {
                replicas(
                    &mut out,
                    &format!("spec.values.gateways.{chart}.replicaCount"),
                    v.replica_count,
                );
            }
        }
    }
    resources_problems(
        &mut out,
        "spec.values.global.proxy.resources",
        global
            .and_then(|g| g.proxy.as_ref())
            .and_then(|p| p.resources.as_ref()),
    );
    out
}

/// The Kubernetes problems of a component's `k8s` block at `path`.
fn k8s_problems(out: &mut Vec<String>, path: &str, k8s: Option<&K8s>) {
    let Some(k8s) = k8s else { return };
    if let Some(n) = k8s.replica_count.filter(|n| *n < 0) {
        out.push(format!("{path}.replicaCount: {n} is negative"));
    }
    resources_problems(out, &format!("{path}.resources"), k8s.resources.as_ref());
    let Some(ports) = k8s.service.as_ref().and_then(|s| s.ports.as_ref()) else {
        return;
    };
    if ports.is_empty() {
        out.push(format!(
            "{path}.service.ports: an empty list would leave the Service without ports; leave \
             ports out to keep the rendered ones"
        ));
    }
    let not_a_port = |n: i64| format!("{n} is not a port number (1 to 65535)");
    for (i, p) in ports.iter().enumerate() {
        let at = format!("{path}.service.ports[{i}]");
        if !kube::is_port_number(p.port.into()) {
            out.push(format!("{at}.port: {}", not_a_port(p.port.into())));
        }
        match &p.target_port {
            Some(IntOrString::Int(n)) if !kube::is_port_number((*n).into()) => {
                out.push(format!("{at}.targetPort: {}", not_a_port((*n).into())));
            }
            Some(IntOrString::String(name)) => {
                if let Some(problem) = kube::port_name_problem(name) {
                    out.push(format!(
                        "{at}.targetPort: {name:?} is not a port number or name: {problem}"
                    ));
                }
            }
            _ => {}
        }
        // 0 asks Kubernetes to allocate one.
        if let Some(n) = p.node_port.filter(|n| *n != 0)
            && !kube::is_port_number(n.into())
        {
            out.push(format!("{at}.nodePort: {}", not_a_port(n.into())));
        }
    }
}

/// The quantities of `requests` and `limits` that Kubernetes refuses.
fn resources_problems(out: &mut Vec<String>, path: &str, resources: Option<&ResourceRequirements>) {
    let Some(r) = resources else { return };
    for (group, quantities) in [("limits", &r.limits), ("requests", &r.requests)] {
        for (name, q) in quantities.iter().flatten() {
            if let Some(problem) = kube::resource_quantity_problem(&q.0) {
                out.push(format!("{path}.{group}.{name}: {:?}: {problem}", q.0));
            }
        }
    }
}

/// Components Ferry does not run are accepted only disabled, so nothing looks installed that is not.
fn refuse_unsupported(iop: &IstioOperator) -> Result<(), ResolveError> {
    let c = &iop.spec.components;
    if c.cni.as_ref().and_then(|x| x.enabled) == Some(true) {
        return Err(ResolveError::Unsupported {
            path: "spec.components.cni.enabled",
            reason: "Ferry does not install the Istio CNI plugin (sidecars redirect traffic with \
                     their init container); remove it or set it to false",
        });
    }
    if c.ztunnel.as_ref().and_then(|x| x.enabled) == Some(true) {
        return Err(ResolveError::Unsupported {
            path: "spec.components.ztunnel.enabled",
            reason: "Ferry has no ambient mode, so there is no ztunnel to install; remove it or \
                     set it to false",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, spec: &str) -> OverlayFile {
        OverlayFile {
            name: name.to_string(),
            text: format!(
                "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n{spec}"
            ),
        }
    }

    fn input(files: Vec<OverlayFile>, sets: &[&str]) -> ResolveInput {
        ResolveInput {
            files,
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..ResolveInput::default()
        }
    }

    fn ok(input: &ResolveInput) -> Resolved {
        resolve(input).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(input: &ResolveInput) -> String {
        resolve(input).expect_err("should fail").to_string()
    }

    fn ingress(r: &Resolved) -> &crate::install::iop::GatewayComponent {
        &r.iop.spec.components.ingress_gateways[0]
    }

    #[test]
    fn nothing_given_is_the_default_profile_with_the_compiled_in_tag() {
        let r = ok(&ResolveInput::default());
        assert_eq!(r.profile, "default");
        assert_eq!(r.iop.spec.profile.as_deref(), Some("default"));
        assert_eq!(r.iop.spec.tag.as_deref(), Some(COMPILED_IN_TAG));
        assert_eq!(r.iop.spec.hub.as_deref(), Some("ghcr.io/ferrymesh"));
        assert_eq!(r.iop.metadata.namespace.as_deref(), Some("istio-system"));
        assert_eq!(r.revision, None);
        assert!(r.warnings.is_empty());
        assert_eq!(ingress(&r).enabled, Some(true));
    }

    #[test]
    fn the_profile_overlays_default() {
        let r = ok(&input(vec![], &["profile=demo"]));
        assert_eq!(r.profile, "demo");
        // From demo.
        assert_eq!(r.iop.spec.components.egress_gateways[0].enabled, Some(true));
        // From default, kept under demo.
        assert_eq!(r.iop.spec.components.base.enabled, Some(true));
        assert_eq!(
            r.iop
                .spec
                .values
                .global
                .as_ref()
                .and_then(|g| g.config_validation),
            Some(true)
        );
        let r = ok(&input(vec![], &["profile=minimal"]));
        assert_eq!(ingress(&r).enabled, Some(false));
    }

    #[test]
    fn files_apply_left_to_right_and_sets_last() {
        let a = file(
            "a.yaml",
            "  hub: a\n  tag: from-a\n  components:\n    pilot:\n      k8s:\n        replicaCount: 2\n",
        );
        let b = file(
            "b.yaml",
            "  hub: b\n  components:\n    pilot:\n      k8s:\n        nodeSelector: {disk: ssd}\n",
        );
        let r = ok(&input(vec![a.clone(), b.clone()], &[]));
        assert_eq!(r.iop.spec.hub.as_deref(), Some("b"));
        assert_eq!(
            r.iop.spec.tag.as_deref(),
            Some("from-a"),
            "files beat the compiled-in tag"
        );
        let k8s = r.iop.spec.components.pilot.k8s.as_ref().expect("k8s");
        assert_eq!(k8s.replica_count, Some(2), "maps merge across files");
        assert!(k8s.node_selector.is_some());
        let r = ok(&input(
            vec![a, b],
            &["hub=c", "components.pilot.k8s.replicaCount=5", "hub=d"],
        ));
        assert_eq!(r.iop.spec.hub.as_deref(), Some("d"), "sets apply in order");
        assert_eq!(
            r.iop
                .spec
                .components
                .pilot
                .k8s
                .as_ref()
                .and_then(|k| k.replica_count),
            Some(5)
        );
    }

    #[test]
    fn lists_in_files_replace_the_profiles() {
        let f = file(
            "gw.yaml",
            "  components:\n    ingressGateways:\n    - name: internal\n      enabled: true\n",
        );
        let r = ok(&input(vec![f], &[]));
        let names: Vec<_> = r
            .iop
            .spec
            .components
            .ingress_gateways
            .iter()
            .map(|g| g.name.clone())
            .collect();
        assert_eq!(names, [Some("internal".to_string())]);
    }

    #[test]
    fn set_indexes_address_the_profiles_list_elements() {
        let r = ok(&input(
            vec![],
            &["components.ingressGateways[0].k8s.service.type=NodePort"],
        ));
        let gw = ingress(&r);
        assert_eq!(gw.name.as_deref(), Some("istio-ingressgateway"));
        assert_eq!(gw.enabled, Some(true));
        let svc = gw
            .k8s
            .as_ref()
            .and_then(|k| k.service.as_ref())
            .expect("service");
        assert_eq!(svc.type_.as_deref(), Some("NodePort"));
        let r = ok(&input(
            vec![],
            &[
                "components.ingressGateways[name:istio-ingressgateway].label.istio=myingress",
                "components.ingressGateways[1].name=second",
                "components.ingressGateways[1].enabled=true",
            ],
        ));
        assert_eq!(
            ingress(&r).label.get("istio").map(String::as_str),
            Some("myingress")
        );
        assert_eq!(
            r.iop.spec.components.ingress_gateways[1].name.as_deref(),
            Some("second")
        );
    }

    #[test]
    fn gateway_chart_values_are_istios_paths() {
        let r = ok(&input(
            vec![],
            &[
                "values.gateways.istio-ingressgateway.autoscaleEnabled=false",
                "values.gateways.istio-egressgateway.autoscaleMax=3",
            ],
        ));
        let g = r.iop.spec.values.gateways.as_ref().expect("gateways");
        let ingress = g.istio_ingressgateway.as_ref().expect("ingress");
        assert_eq!(ingress.autoscale_enabled, Some(false));
        let egress = g.istio_egressgateway.as_ref().expect("egress");
        assert_eq!(egress.autoscale_max, Some(3));
        assert!(
            err(&input(
                vec![],
                &["values.gateways.istio-ingressgateway.autoscaleEnable=false"]
            ))
            .contains("did you mean spec.values.gateways.istio-ingressgateway.autoscaleEnabled?")
        );
    }

    #[test]
    fn the_profile_comes_from_set_then_the_last_file_then_default() {
        let demo = file("demo.yaml", "  profile: demo\n");
        let minimal = file("minimal.yaml", "  profile: minimal\n");
        assert_eq!(
            ok(&input(vec![demo.clone(), minimal.clone()], &[])).profile,
            "minimal"
        );
        assert_eq!(
            ok(&input(vec![minimal.clone(), demo.clone()], &[])).profile,
            "demo"
        );
        let r = ok(&input(vec![demo, minimal], &["profile=empty"]));
        assert_eq!(r.profile, "empty");
        assert_eq!(r.iop.spec.profile.as_deref(), Some("empty"));
    }

    #[test]
    fn a_profile_may_be_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mine.yaml");
        std::fs::write(
            &path,
            "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  hub: mine\n",
        )
        .expect("write");
        let set = format!("profile={}", path.display());
        let r = ok(&input(vec![], &[&set]));
        assert_eq!(r.iop.spec.hub.as_deref(), Some("mine"));
        assert_eq!(
            r.iop.spec.components.base.enabled,
            Some(true),
            "still on top of default"
        );
    }

    #[test]
    fn unknown_and_refused_profiles_are_errors_naming_where_they_came_from() {
        assert!(
            err(&input(vec![], &["profile=dmeo"]))
                .starts_with("unknown profile \"dmeo\" (did you mean demo?)")
        );
        let f = file("amb.yaml", "  profile: ambient\n");
        assert_eq!(
            err(&input(vec![f], &[])),
            "amb.yaml:4: profile \"ambient\" is not supported: Ferry has no ambient mode (no ztunnel, \
             no Istio CNI plugin); workloads join the mesh with sidecars, so use the default profile"
        );
    }

    #[test]
    fn string_fields_keep_the_text_of_set_values() {
        let r = ok(&input(vec![], &["tag=1.20", "values.global.network=t"]));
        assert_eq!(r.iop.spec.tag.as_deref(), Some("1.20"));
        assert_eq!(
            r.iop
                .spec
                .values
                .global
                .as_ref()
                .and_then(|g| g.network.as_deref()),
            Some("t")
        );
    }

    #[test]
    fn unknown_paths_in_files_name_file_line_path_and_suggestion() {
        let f = file(
            "overlay.yaml",
            "  components:\n    pilot:\n      k8s:\n        replicaCont: 3\n",
        );
        assert_eq!(
            err(&input(vec![f], &[])),
            "validation errors (use --force to drop these fields and proceed):\n  \
             overlay.yaml:7: unknown field spec.components.pilot.k8s.replicaCont; did you mean \
             spec.components.pilot.k8s.replicaCount?"
        );
    }

    #[test]
    fn unknown_set_paths_point_at_the_segment() {
        // The caret is under the `r` of `replicaCont`: the indent, `--set `, then 21 characters.
        let caret = format!("{}^", " ".repeat(2 + 4 + 6 + 21));
        assert_eq!(
            err(&input(vec![], &["components.pilot.k8s.replicaCont=3"])),
            format!(
                "validation errors (use --force to drop these fields and proceed):\n  \
                 invalid --set: unknown field spec.components.pilot.k8s.replicaCont; did you mean \
                 spec.components.pilot.k8s.replicaCount?\n      \
                 --set components.pilot.k8s.replicaCont=3\n{caret}"
            )
        );
        assert!(
            err(&input(vec![], &["components.pilot.k8s.replicaCount=many"]))
                .contains("spec.components.pilot.k8s.replicaCount: expected an integer (32-bit), found \"many\"")
        );
    }

    #[test]
    fn mesh_config_keys_and_values_are_checked_and_force_drops_them() {
        let e = err(&input(
            vec![],
            &[
                "meshConfig.acessLogFile=/dev/stdout",
                "meshConfig.outboundTrafficPolicy.mode=ALLOW_ALL",
            ],
        ));
        assert!(
            e.contains(
                "unknown field spec.meshConfig.acessLogFile; did you mean spec.meshConfig.accessLogFile?"
            ),
            "{e}"
        );
        assert!(
            e.contains("\"ALLOW_ALL\" is not one of REGISTRY_ONLY, ALLOW_ANY"),
            "{e}"
        );
        let mut i = input(
            vec![],
            &[
                "meshConfig.acessLogFile=/dev/stdout",
                "meshConfig.enableTracing=true",
            ],
        );
        i.force = true;
        let r = ok(&i);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        let mesh = r.iop.spec.mesh_config.as_ref().expect("meshConfig");
        assert!(!mesh.contains_key("acessLogFile"));
        assert_eq!(mesh["enableTracing"], serde_json::json!(true));
    }

    #[test]
    fn all_findings_are_reported_together() {
        let f = file(
            "o.yaml",
            "  hubb: x\n  components:\n    pilot:\n      enabled: maybe\n",
        );
        let e = err(&input(vec![f], &["values.nope=1"]));
        assert!(
            e.contains("o.yaml:4: unknown field spec.hubb; did you mean spec.hub?"),
            "{e}"
        );
        assert!(
            e.contains("o.yaml:7: spec.components.pilot.enabled: expected true or false"),
            "{e}"
        );
        assert!(e.contains("unknown field spec.values.nope"), "{e}");
    }

    #[test]
    fn force_warns_and_drops_what_it_cannot_use() {
        let f = file(
            "o.yaml",
            "  hub: kept\n  components:\n    pilot:\n      k8s:\n        replicaCont: 3\n",
        );
        let mut i = input(
            vec![f],
            &[
                "values.nope=1",
                "components.pilot.k8s.replicaCount=x",
                "tag=t",
            ],
        );
        i.force = true;
        let r = ok(&i);
        assert_eq!(r.iop.spec.hub.as_deref(), Some("kept"));
        assert_eq!(r.iop.spec.tag.as_deref(), Some("t"));
        assert_eq!(r.warnings.len(), 3, "{:?}", r.warnings);
        assert!(
            r.warnings[0]
                .starts_with("o.yaml:8: unknown field spec.components.pilot.k8s.replicaCont")
        );
        assert!(r.warnings.iter().all(|w| {
            w.lines()
                .next()
                .is_some_and(|l| l.ends_with("(ignored because of --force)"))
        }));
    }

    #[test]
    fn revisions_follow_the_dns_label_rule_and_default_means_none() {
        let mut i = input(vec![], &["revision=canary"]);
        assert_eq!(
            ok(&i).revision.map(|r| r.to_string()),
            Some("canary".to_string())
        );
        i.revision = Some("1-24-0".into());
        let r = ok(&i);
        assert_eq!(
            r.revision.map(|r| r.to_string()),
            Some("1-24-0".to_string()),
            "-r beats --set"
        );
        assert_eq!(r.iop.spec.revision.as_deref(), Some("1-24-0"));
        i.revision = Some("default".into());
        assert_eq!(
            ok(&i).revision.map(|r| r.to_string()),
            Some("canary".to_string()),
            "-r default is ignored"
        );
        assert_eq!(
            ok(&input(vec![], &["revision=default"])).iop.spec.revision,
            None
        );

        let mut bad = input(vec![], &[]);
        bad.revision = Some("Canary".into());
        assert!(err(&bad).starts_with("--revision: invalid revision \"Canary\": it contains an uppercase letter; a revision is a DNS-1123 label"));
        assert!(
            err(&input(vec![], &["revision=1.24"]))
                .starts_with("spec.revision: invalid revision \"1.24\"")
        );
        assert_eq!(
            err(&input(vec![], &["revision=a", "values.revision=b"])),
            "spec.revision is \"a\" but spec.values.revision is \"b\"; set only one of them (or -r)"
        );
        let r = ok(&input(vec![], &["values.revision=blue"]));
        assert_eq!(r.iop.spec.revision.as_deref(), Some("blue"));
        assert_eq!(r.iop.spec.values.revision.as_deref(), Some("blue"));
    }

    #[test]
    fn components_ferry_does_not_run_are_refused_when_enabled() {
        let e = err(&input(vec![], &["components.cni.enabled=true"]));
        assert!(
            e.starts_with(
                "spec.components.cni.enabled: Ferry does not install the Istio CNI plugin"
            ),
            "{e}"
        );
        let f = file(
            "z.yaml",
            "  components:\n    ztunnel:\n      enabled: true\n",
        );
        assert!(err(&input(vec![f], &[])).contains("no ambient mode"));
        ok(&input(vec![], &["components.cni.enabled=false"]));
    }

    #[test]
    fn the_istio_namespace_value_moves_the_operator_as_istioctl_does() {
        let r = ok(&input(vec![], &["values.global.istioNamespace=mesh"]));
        assert_eq!(r.iop.metadata.namespace.as_deref(), Some("mesh"));
        let r = ok(&input(vec![], &["namespace=other"]));
        assert_eq!(r.iop.metadata.namespace.as_deref(), Some("other"));
        let global = r.iop.spec.values.global.as_ref().expect("global values");
        assert_eq!(global.istio_namespace.as_deref(), Some("other"));
    }

    #[test]
    fn values_the_api_server_would_reject_are_errors_even_with_force() {
        let mut i = input(
            vec![file(
                "k.yaml",
                "  namespace: Istio_System\n  components:\n    pilot:\n      k8s:\n        replicaCount: -1\n        resources:\n          requests:\n            cpu: abc\n          limits:\n            memory: -1Gi\n    ingressGateways:\n    - name: 1gw\n      enabled: true\n      namespace: edge.ns\n      k8s:\n        service:\n          ports:\n          - port: 0\n          - port: 80\n            targetPort: 70000\n          - port: 81\n            targetPort: HTTP\n    egressGateways:\n    - name: istio-egressgateway\n      enabled: true\n      k8s:\n        service:\n          ports: []\n",
            )],
            &["values.gateways.istio-ingressgateway.replicaCount=-2"],
        );
        i.force = true;
        assert_eq!(
            err(&i),
            "invalid Kubernetes values (--force cannot skip these: the API server would reject \
             the objects they make):\n  \
             spec.namespace: \"Istio_System\" is not a DNS-1123 label: it contains an uppercase \
             letter (a namespace is 1 to 63 lowercase letters, digits and '-', starting and \
             ending with a letter or digit)\n  \
             spec.components.pilot.k8s.replicaCount: -1 is negative\n  \
             spec.components.pilot.k8s.resources.limits.memory: \"-1Gi\": a resource quantity \
             cannot be negative\n  \
             spec.components.pilot.k8s.resources.requests.cpu: \"abc\": not a Kubernetes quantity \
             (a number with an optional suffix: 500m, 2, 1.5, 128Mi, 1Gi, 1e3)\n  \
             spec.components.ingressGateways[name:1gw].name: \"1gw\" is not a DNS-1035 label: it \
             does not start with a letter (it names the gateway's Service: 1 to 63 lowercase \
             letters, digits and '-', starting with a letter and ending with a letter or digit)\n  \
             spec.components.ingressGateways[name:1gw].namespace: \"edge.ns\" is not a DNS-1123 \
             label: it contains a character other than a-z, 0-9 and '-' (a namespace is 1 to 63 \
             lowercase letters, digits and '-', starting and ending with a letter or digit)\n  \
             spec.components.ingressGateways[name:1gw].k8s.service.ports[0].port: 0 is not a port \
             number (1 to 65535)\n  \
             spec.components.ingressGateways[name:1gw].k8s.service.ports[1].targetPort: 70000 is \
             not a port number (1 to 65535)\n  \
             spec.components.ingressGateways[name:1gw].k8s.service.ports[2].targetPort: \"HTTP\" \
             is not a port number or name: a port name has only a-z, 0-9 and '-'\n  \
             spec.components.egressGateways[name:istio-egressgateway].k8s.service.ports: an empty \
             list would leave the Service without ports; leave ports out to keep the rendered \
             ones\n  \
             spec.values.gateways.istio-ingressgateway.replicaCount: -2 is negative"
        );
        // The same values are fine where Kubernetes allows them.
        ok(&input(
            vec![],
            &[
                "components.pilot.k8s.replicaCount=0",
                "components.pilot.k8s.resources.requests.cpu=0.5",
                "components.pilot.k8s.resources.limits.memory=1e9",
                "components.ingressGateways[0].k8s.service.ports[0].port=8080",
                "components.ingressGateways[0].k8s.service.ports[0].targetPort=http-alt",
                "components.pilot.namespace=control",
            ],
        ));
        assert!(
            err(&input(vec![], &["components.pilot.namespace=Control"]))
                .contains("spec.components.pilot.namespace: \"Control\" is not a DNS-1123 label")
        );
        assert!(
            err(&input(
                vec![],
                &["values.global.proxy.resources.limits.cpu=lots"]
            ))
            .contains(
                "spec.values.global.proxy.resources.limits.cpu: \"lots\": not a Kubernetes quantity"
            )
        );
    }

    #[test]
    fn nulls_unset_fields() {
        let f = file(
            "n.yaml",
            "  hub: ~\n  components:\n    ingressGateways: ~\n",
        );
        let r = ok(&input(vec![f], &[]));
        assert_eq!(r.iop.spec.hub, None);
        assert!(r.iop.spec.components.ingress_gateways.is_empty());
    }

    #[test]
    fn malformed_sets_fail_before_anything_is_read() {
        let e = err(&input(vec![file("x", "  [")], &["a..b=1"]));
        assert!(e.starts_with("invalid --set: empty field name"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_an_istio_operator_is_refused() {
        let f = OverlayFile {
            name: "dep.yaml".into(),
            text: "apiVersion: apps/v1\nkind: Deployment\n".into(),
        };
        assert_eq!(
            err(&input(vec![f], &[])),
            "dep.yaml:1: expected an IstioOperator (install.istio.io/v1alpha1), found kind Deployment (apiVersion apps/v1)"
        );
    }

    #[test]
    fn every_seed_istio_operator_resolves() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures/seed").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.contains("operator") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).expect("read");
            let r = resolve(&input(
                vec![OverlayFile {
                    name: name.clone(),
                    text,
                }],
                &[],
            ))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(r.warnings.is_empty(), "{name}: {:?}", r.warnings);
            seen += 1;
        }
        assert_eq!(seen, 5, "the seed has five IstioOperator examples");
    }
}
