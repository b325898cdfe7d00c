//! Revision tags as Kubernetes objects: the MutatingWebhookConfiguration
//! `istio-revision-tag-<tag>` that `istioctl tag generate` prints, built from the revision's own
//! injector webhook (`istio-sidecar-injector[-<rev>]`, see `render/webhooks.rs`), and for the
//! `default` tag the cluster-wide `istiod-default-validator` as well.
//!
//! This follows istioctl's `istioctl/pkg/tag/generate.go`: from the revision's webhook it keeps
//! the revision (its `istio.io/rev` label), the injection URL or Service path, the CA bundle, the
//! reinvocation policy, the labels (without `app` and the operator's) and the annotations; the
//! webhooks themselves are those of the chart template it renders
//! (`istio-discovery/templates/revision-tags-mwc.yaml`), and the validator that of
//! `charts/default/templates/validatingwebhook.yaml`. No Service is part of the output: istioctl
//! keeps only the webhook configurations of what it renders.
//!
//! Pure: callers find the revision's webhook (in a rendered manifest or a cluster) and print or
//! apply the result. [`conflicts`] runs the webhook analyzer over the result, as istioctl's
//! `tag set` and `tag generate` do.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::analyze::{self, Level, Message};
use crate::config::kind::Kind;
use crate::config::source::{LoadOptions, parse_file};
use crate::config::store::Store;
use crate::install::render::names::{REV_LABEL, istiod_service};
use crate::install::render::webhooks::{
    DEFAULT_VALIDATOR, INJECTOR_SUFFIX, ISTIO_API_GROUPS, expression, injection_selectors,
    injection_webhook, selector,
};

/// The label naming the tag a webhook configuration (or Service) belongs to.
pub const TAG_LABEL: &str = "istio.io/tag";
/// The tag that also takes over the default revision's selectors and cluster-wide validation.
pub const DEFAULT_TAG: &str = "default";
/// Labels containing this belong to the installer; a tag is user-managed, so istioctl drops them.
const OPERATOR_LABELS: &str = "operator.istio.io";
const MUTATING: &str = "MutatingWebhookConfiguration";
const API_VERSION: &str = "admissionregistration.k8s.io/v1";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSpec {
    /// The tag name (already validated).
    pub tag: String,
    /// `--webhook-name`: replaces `istio-revision-tag-<tag>` as the configuration's name.
    pub webhook_name: Option<String>,
    /// `--auto-inject-namespaces`: the `default` tag also injects namespaces without labels.
    pub auto_inject_namespaces: bool,
    /// Where the control plane's Service lives (`--istioNamespace`).
    pub istio_namespace: String,
}

impl TagSpec {
    /// The MutatingWebhookConfiguration's name: `--webhook-name`, else the chart's
    /// `istio-revision-tag-<tag>` (with `-<namespace>` outside `istio-system`).
    pub fn webhook_name(&self) -> String {
        if let Some(name) = self.webhook_name.as_deref().filter(|n| !n.is_empty()) {
            return name.to_string();
        }
        if self.istio_namespace == "istio-system" {
            format!("istio-revision-tag-{}", self.tag)
        } else {
            format!("istio-revision-tag-{}-{}", self.tag, self.istio_namespace)
        }
    }
}

#[cfg(test)]
impl TagSpec {
    /// Tag `tag` as `tag generate` takes it without flags: the chart's webhook name, no
    /// auto-injection, the control plane in `istio-system`.
    pub(crate) fn named(tag: &str) -> TagSpec {
        TagSpec {
            tag: tag.to_string(),
            webhook_name: None,
            auto_inject_namespaces: false,
            istio_namespace: "istio-system".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagWebhookError {
    #[error(
        "failed deactivating existing default revision: expected a single webhook for default \
         revision"
    )]
    MultipleDefault,
    #[error("cannot modify tag: cannot find MutatingWebhookConfiguration with revision {0:?}")]
    NoCanonical(String),
    #[error("cannot modify tag: found multiple canonical webhooks with revision {0:?}")]
    MultipleCanonical(String),
    #[error(
        "failed to create tag webhook config: could not extract tag revision from webhook {0:?}"
    )]
    NoRevision(String),
    #[error(
        "failed to create tag webhook config: could not find sidecar-injector webhook in \
         canonical webhook {0:?}"
    )]
    NoInjector(String),
}

fn labels(object: &Value) -> Option<&Map<String, Value>> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
}

fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The revision's own injector webhook configuration among `objects`: a
/// MutatingWebhookConfiguration labelled `istio.io/rev=<revision>` and not a tag's (istioctl's
/// `GetWebhooksWithRevision`, selector `istio.io/rev=<rev>,!istio.io/tag`).
pub fn canonical_webhook<'a>(
    objects: &'a [Value],
    revision: &str,
) -> Result<&'a Value, TagWebhookError> {
    let mut found = objects.iter().filter(|o| {
        o.get("kind").and_then(Value::as_str) == Some(MUTATING)
            && labels(o).is_some_and(|l| {
                l.get(REV_LABEL).and_then(Value::as_str) == Some(revision)
                    && !l.contains_key(TAG_LABEL)
            })
    });
    match (found.next(), found.next()) {
        (Some(w), None) => Ok(w),
        (None, _) => Err(TagWebhookError::NoCanonical(revision.to_string())),
        (Some(_), Some(_)) => Err(TagWebhookError::MultipleCanonical(revision.to_string())),
    }
}

/// The label selector istioctl puts on the webhooks it deactivates (`util.NeverMatch`): nothing
/// carries this label, so the webhook stays registered, ready to be restored, but is never
/// called.
pub const DEACTIVATED_LABEL: &str = "istio.io/deactivated";
const NEVER_MATCH: &str = "never-match";

fn never_match() -> Value {
    json!({"matchLabels": {DEACTIVATED_LABEL: NEVER_MATCH}})
}

/// The default revision's own injector webhook configuration among `objects` (what
/// `istio-injection=enabled` and `sidecar.istio.io/inject=true` reach until a default tag takes
/// over), if one is installed.
pub fn default_revision_webhook(objects: &[Value]) -> Result<Option<&Value>, TagWebhookError> {
    match canonical_webhook(objects, DEFAULT_TAG) {
        Ok(w) => Ok(Some(w)),
        Err(TagWebhookError::NoCanonical(_)) => Ok(None),
        Err(_) => Err(TagWebhookError::MultipleDefault),
    }
}

/// Whether every webhook of `config` is already deactivated (a second `tag set default`).
pub fn is_deactivated(config: &Value) -> bool {
    config
        .get("webhooks")
        .and_then(Value::as_array)
        .is_some_and(|hooks| {
            hooks.iter().all(|h| {
                h.get("namespaceSelector") == Some(&never_match())
                    && h.get("objectSelector") == Some(&never_match())
            })
        })
}

/// `config` (the default revision's injector webhook configuration) as `istioctl tag set
/// default` leaves it (`DeactivateIstioInjectionWebhook`): every webhook's namespace and object
/// selector replaced by one nothing matches. Deactivated rather than deleted, so the revision
/// can be made the default again; the revision's `rev.*` webhooks go too, since the default tag
/// now answers `istio.io/rev=default` itself.
pub fn deactivated(config: &Value) -> Value {
    let mut out = config.clone();
    if let Some(hooks) = out.get_mut("webhooks").and_then(Value::as_array_mut) {
        for hook in hooks {
            if let Some(h) = hook.as_object_mut() {
                h.insert("namespaceSelector".into(), never_match());
                h.insert("objectSelector".into(), never_match());
            }
        }
    }
    out
}

/// Keeps, in the `istiod-default-validator` that `generate` made, the failure policy each
/// webhook has in the one the cluster already holds: istiod switches it to `Fail` once it
/// serves validation, and moving the default tag must not switch it back (istioctl's
/// `fixWhConfig`).
pub fn keep_failure_policies(validator: &mut Value, existing: &Value) {
    let policies: Vec<(String, Value)> = existing
        .get("webhooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some((
                h.get("name")?.as_str()?.to_string(),
                h.get("failurePolicy")?.clone(),
            ))
        })
        .collect();
    let Some(hooks) = validator.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return;
    };
    for hook in hooks {
        let name = hook.get("name").and_then(Value::as_str).map(str::to_string);
        if let Some((_, policy)) = policies.iter().find(|(n, _)| Some(n) == name.as_ref()) {
            hook["failurePolicy"] = policy.clone();
        }
    }
}

/// What istioctl takes from the revision's webhook (`tagWebhookConfigFromCanonicalWebhook`).
#[derive(Debug)]
struct Canonical<'a> {
    revision: &'a str,
    url: Option<&'a str>,
    path: Option<&'a str>,
    ca_bundle: Option<&'a str>,
    reinvocation_policy: Option<&'a str>,
    labels: Map<String, Value>,
    annotations: Option<&'a Map<String, Value>>,
}

impl<'a> Canonical<'a> {
    fn read(webhook: &'a Value) -> Result<Canonical<'a>, TagWebhookError> {
        let config = name(webhook);
        let revision = labels(webhook)
            .and_then(|l| l.get(REV_LABEL))
            .and_then(Value::as_str)
            .ok_or_else(|| TagWebhookError::NoRevision(config.to_string()))?;
        let injector = webhook
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|w| {
                w.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.ends_with(INJECTOR_SUFFIX))
            })
            .ok_or_else(|| TagWebhookError::NoInjector(config.to_string()))?;
        let client = |p: &str| {
            injector
                .pointer(&format!("/clientConfig{p}"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        // The `app` label names what a configuration is for; the tag's own says so itself.
        let mut kept = labels(webhook).cloned().unwrap_or_default();
        kept.remove("app");
        Ok(Canonical {
            revision,
            url: client("/url"),
            path: client("/service/path"),
            ca_bundle: client("/caBundle"),
            reinvocation_policy: injector
                .get("reinvocationPolicy")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty()),
            labels: kept,
            annotations: webhook
                .pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .filter(|a| !a.is_empty()),
        })
    }

    /// The chart's labels, then the revision webhook's over them (istioctl's `generateLabels`),
    /// without the installer's: a tag belongs to the user, not to an install.
    fn labels(&self, chart: &[(&str, &str)]) -> Map<String, Value> {
        let mut m: Map<String, Value> = chart
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::from(*v)))
            .collect();
        for (k, v) in &self.labels {
            m.insert(k.clone(), v.clone());
        }
        m.retain(|k, _| !k.contains(OPERATOR_LABELS));
        m
    }

    fn metadata(&self, name: &str, chart_labels: &[(&str, &str)]) -> Value {
        let mut meta = Map::new();
        meta.insert("name".into(), name.into());
        meta.insert("labels".into(), Value::Object(self.labels(chart_labels)));
        if let Some(a) = self.annotations {
            meta.insert("annotations".into(), Value::Object(a.clone()));
        }
        Value::Object(meta)
    }

    /// A webhook's `clientConfig`: the injection URL when the revision has one, else its Service.
    fn client_config(&self, istio_namespace: &str, url: Option<String>, path: &str) -> Value {
        let mut c = Map::new();
        match url {
            Some(url) => {
                c.insert("url".into(), url.into());
            }
            None => {
                c.insert(
                    "service".into(),
                    json!({
                        "name": istiod_service(self.revision),
                        "namespace": istio_namespace,
                        "path": path,
                        "port": 443,
                    }),
                );
            }
        }
        if let Some(ca) = self.ca_bundle {
            c.insert("caBundle".into(), ca.into());
        }
        Value::Object(c)
    }

    /// One injection webhook (the chart's `core` template).
    fn injection_webhook(
        &self,
        spec: &TagSpec,
        prefix: &str,
        namespace: Value,
        object: Value,
    ) -> Value {
        injection_webhook(
            prefix,
            self.client_config(
                &spec.istio_namespace,
                self.url.map(str::to_string),
                self.path.unwrap_or("/inject"),
            ),
            self.reinvocation_policy.unwrap_or("Never"),
            namespace,
            object,
        )
    }
}

/// The objects `tag generate` prints for `spec.tag` pointing at the revision of `canonical` (the
/// revision's injector MutatingWebhookConfiguration): the tag's MutatingWebhookConfiguration, and
/// for the `default` tag the `istiod-default-validator` ValidatingWebhookConfiguration after it.
pub fn generate(canonical: &Value, spec: &TagSpec) -> Result<Vec<Value>, TagWebhookError> {
    let c = Canonical::read(canonical)?;
    let tag = spec.tag.as_str();
    // The tag selects its own label; the default tag also answers what the default revision
    // answers.
    let webhooks: Vec<Value> =
        injection_selectors(tag, tag == DEFAULT_TAG, spec.auto_inject_namespaces)
            .into_iter()
            .map(|(prefix, namespace, object)| c.injection_webhook(spec, prefix, namespace, object))
            .collect();
    let mwc = json!({
        "apiVersion": API_VERSION,
        "kind": MUTATING,
        "metadata": c.metadata(
            &spec.webhook_name(),
            &[(TAG_LABEL, tag), (REV_LABEL, c.revision), ("app", "sidecar-injector")],
        ),
        "webhooks": webhooks,
    });
    let mut out = vec![mwc];
    if tag == DEFAULT_TAG {
        out.push(default_validator(&c, spec));
    }
    Ok(out)
}

/// `istiod-default-validator`, served by the tagged revision. Like istioctl, its endpoint comes
/// from the injection webhook: the same URL with the path `/validate`, or the same Service.
fn default_validator(c: &Canonical<'_>, spec: &TagSpec) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ValidatingWebhookConfiguration",
        "metadata": c.metadata(
            DEFAULT_VALIDATOR,
            &[
                ("app", "istiod"),
                ("istio", "istiod"),
                (REV_LABEL, c.revision),
                (TAG_LABEL, DEFAULT_TAG),
            ],
        ),
        "webhooks": [{
            "name": "validation.istio.io",
            "clientConfig": c.client_config(
                &spec.istio_namespace,
                c.url.map(validation_url),
                "/validate",
            ),
            "rules": [{
                "operations": ["CREATE", "UPDATE"],
                "apiGroups": ISTIO_API_GROUPS,
                "apiVersions": ["*"],
                "resources": ["*"],
            }],
            "failurePolicy": "Ignore",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1beta1", "v1"],
            "objectSelector": selector(vec![expression(REV_LABEL, "DoesNotExist", &[])]),
        }],
    })
}

/// `url` with its path replaced by `/validate` (query and fragment kept). A URL without a
/// scheme is left alone: there is no path to tell from the host.
fn validation_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    let suffix = tail.find(['?', '#']).map_or("", |i| &tail[i..]);
    format!("{scheme}://{host}/validate{suffix}")
}

/// The errors the webhook analyzer finds on the tag's webhook configuration once it joins
/// `cluster` (`(file name, YAML)` pairs: what is installed and the other tags), as istioctl's
/// `tag set` and `tag generate` check before applying or printing. `generated` is the printed YAML;
/// objects in it replace those of the same kind and name in `cluster`.
pub fn conflicts(cluster: &[(String, String)], generated: &str, name: &str) -> Vec<Message> {
    conflicts_listed(cluster, generated, name, BTreeSet::new())
}

/// [`conflicts`] for `cluster` objects listed from a cluster: the `listed` kinds count as
/// read even when there was none (a Service missing from the istio namespace is a missing
/// Service, not a kind the files say nothing about, which would skip the check).
pub fn conflicts_listed(
    cluster: &[(String, String)],
    generated: &str,
    name: &str,
    listed: BTreeSet<Kind>,
) -> Vec<Message> {
    let opts = LoadOptions::default();
    let mut resources = parse_file("", generated, &opts).resources;
    let mut seen: std::collections::HashSet<String> =
        resources.iter().map(|r| r.friendly_name()).collect();
    for (file, text) in cluster {
        for r in parse_file(file, text, &opts).resources {
            if seen.insert(r.friendly_name()) {
                resources.push(r);
            }
        }
    }
    let mut store = Store::new(resources);
    let outcome = analyze::run(
        &mut store,
        &analyze::Options {
            only: vec![analyze::analyzers::webhook::ANALYZER.name.to_string()],
            listed,
            ..Default::default()
        },
    );
    let mut messages: Vec<Message> = outcome
        .messages
        .into_iter()
        .filter(|m| m.typ.level.at_least(Level::Error))
        .filter(|m| {
            m.origin.as_ref().is_some_and(|o| {
                o.comparator == format!("{}/{name}/", Kind::MutatingWebhookConfiguration.name())
            })
        })
        .collect();
    analyze::output::sort_dedup(&mut messages);
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::render::render;
    use crate::install::resolve::{ResolveInput, resolve};

    /// Everything `manifest generate` renders for `sets`.
    fn rendered(sets: &[&str]) -> Vec<Value> {
        let resolved = resolve(&ResolveInput {
            files: Vec::new(),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            revision: None,
            force: false,
        })
        .expect("resolves");
        render(&resolved.iop)
            .expect("renders")
            .into_iter()
            .map(|r| r.object)
            .collect()
    }

    fn webhook_names(mwc: &Value) -> Vec<&str> {
        mwc["webhooks"]
            .as_array()
            .expect("webhooks")
            .iter()
            .map(|w| w["name"].as_str().expect("name"))
            .collect()
    }

    fn typed(
        mwc: &Value,
    ) -> k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration {
        serde_json::from_value(mwc.clone()).expect("a valid MutatingWebhookConfiguration")
    }

    #[test]
    fn a_tag_selects_its_own_label_and_keeps_the_revision_endpoint() {
        let objects = rendered(&["revision=canary"]);
        let canonical = canonical_webhook(&objects, "canary").expect("found");
        assert_eq!(name(canonical), "istio-sidecar-injector-canary");
        let out = generate(canonical, &TagSpec::named("prod")).expect("generates");
        assert_eq!(out.len(), 1, "no validator for a tag other than default");
        let mwc = &out[0];
        assert_eq!(
            mwc["metadata"],
            json!({
                "name": "istio-revision-tag-prod",
                "labels": {"istio.io/tag": "prod", "istio.io/rev": "canary", "app": "sidecar-injector"},
            })
        );
        assert_eq!(
            webhook_names(mwc),
            [
                "rev.namespace.sidecar-injector.istio.io",
                "rev.object.sidecar-injector.istio.io"
            ]
        );
        let typed = typed(mwc);
        let hooks = typed.webhooks.expect("webhooks");
        let ns = hooks[0].namespace_selector.as_ref().expect("ns selector");
        let exprs = ns.match_expressions.as_ref().expect("expressions");
        assert_eq!(
            (exprs[0].key.as_str(), exprs[0].operator.as_str()),
            ("istio.io/rev", "In")
        );
        assert_eq!(exprs[0].values.as_deref(), Some(&["prod".to_string()][..]));
        let obj = hooks[1].object_selector.as_ref().expect("object selector");
        let rev = obj
            .match_expressions
            .as_ref()
            .expect("expressions")
            .iter()
            .find(|e| e.key == "istio.io/rev")
            .expect("rev expression");
        assert_eq!(
            (rev.operator.as_str(), rev.values.as_deref()),
            ("In", Some(&["prod".to_string()][..]))
        );
        // Every webhook still calls the revision's control plane, as its own webhook does.
        for h in &hooks {
            let svc = h.client_config.service.as_ref().expect("service");
            assert_eq!(
                (
                    svc.name.as_str(),
                    svc.namespace.as_str(),
                    svc.path.as_deref(),
                    svc.port
                ),
                ("istiod-canary", "istio-system", Some("/inject"), Some(443))
            );
            assert_eq!(h.failure_policy.as_deref(), Some("Fail"));
        }
        assert_eq!(
            canonical["webhooks"][0]["clientConfig"],
            mwc["webhooks"][0]["clientConfig"]
        );
    }

    #[test]
    fn the_default_tag_takes_the_default_selectors_and_validation() {
        let objects = rendered(&["revision=canary"]);
        let canonical = canonical_webhook(&objects, "canary").expect("found");
        let out = generate(canonical, &TagSpec::named("default")).expect("generates");
        assert_eq!(out.len(), 2);
        assert_eq!(
            webhook_names(&out[0]),
            [
                "rev.namespace.sidecar-injector.istio.io",
                "rev.object.sidecar-injector.istio.io",
                "namespace.sidecar-injector.istio.io",
                "object.sidecar-injector.istio.io",
            ]
        );
        // The classic selectors are exactly the default revision's.
        let default_rev = rendered(&[]);
        let default_canonical = canonical_webhook(&default_rev, "default").expect("found");
        for i in [2, 3] {
            for sel in ["namespaceSelector", "objectSelector"] {
                assert_eq!(
                    out[0]["webhooks"][i][sel], default_canonical["webhooks"][i][sel],
                    "{sel} of webhook {i}"
                );
            }
        }
        let vwc: k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration =
            serde_json::from_value(out[1].clone()).expect("a valid VWC");
        assert_eq!(vwc.metadata.name.as_deref(), Some(DEFAULT_VALIDATOR));
        let labels = vwc.metadata.labels.expect("labels");
        assert_eq!(labels["istio.io/rev"], "canary");
        assert_eq!(labels["istio.io/tag"], "default");
        assert!(!labels.keys().any(|k| k.contains("operator.istio.io")));
        let hook = &vwc.webhooks.expect("webhooks")[0];
        let svc = hook.client_config.service.as_ref().expect("service");
        assert_eq!(
            (svc.name.as_str(), svc.path.as_deref()),
            ("istiod-canary", Some("/validate"))
        );
        assert_eq!(hook.failure_policy.as_deref(), Some("Ignore"));

        let auto = TagSpec {
            auto_inject_namespaces: true,
            ..TagSpec::named("default")
        };
        let out = generate(canonical, &auto).expect("generates");
        assert_eq!(
            webhook_names(&out[0]).last(),
            Some(&"auto.sidecar-injector.istio.io")
        );
        // Only the default tag injects unlabelled namespaces.
        let out = generate(
            canonical,
            &TagSpec {
                tag: "prod".into(),
                ..auto
            },
        )
        .expect("generates");
        assert_eq!(webhook_names(&out[0]).len(), 2);
    }

    #[test]
    fn names_namespaces_and_remote_urls() {
        let objects = rendered(&[]);
        let canonical = canonical_webhook(&objects, "default").expect("found");
        let elsewhere = TagSpec {
            istio_namespace: "istio-blue".into(),
            ..TagSpec::named("prod")
        };
        let out = generate(canonical, &elsewhere).expect("generates");
        assert_eq!(name(&out[0]), "istio-revision-tag-prod-istio-blue");
        assert_eq!(
            out[0]["webhooks"][0]["clientConfig"]["service"],
            json!({"name": "istiod", "namespace": "istio-blue", "path": "/inject", "port": 443})
        );
        let named = TagSpec {
            webhook_name: Some("my-tag".into()),
            ..TagSpec::named("prod")
        };
        assert_eq!(name(&generate(canonical, &named).expect("ok")[0]), "my-tag");

        let remote = json!({
            "apiVersion": API_VERSION,
            "kind": MUTATING,
            "metadata": {
                "name": "istio-sidecar-injector-r1",
                "labels": {"istio.io/rev": "r1", "app": "sidecar-injector", "team": "mesh"},
                "annotations": {"note": "kept"},
            },
            "webhooks": [{
                "name": "rev.namespace.sidecar-injector.istio.io",
                "clientConfig": {"url": "https://istiod.example.com:15017/inject?x=1", "caBundle": "Q0E="},
                "reinvocationPolicy": "IfNeeded",
            }],
        });
        let out = generate(&remote, &TagSpec::named("default")).expect("generates");
        let hook = &out[0]["webhooks"][0];
        assert_eq!(
            hook["clientConfig"],
            json!({"url": "https://istiod.example.com:15017/inject?x=1", "caBundle": "Q0E="})
        );
        assert_eq!(hook["reinvocationPolicy"], "IfNeeded");
        assert_eq!(out[0]["metadata"]["labels"]["team"], "mesh");
        assert_eq!(out[0]["metadata"]["annotations"], json!({"note": "kept"}));
        assert_eq!(
            out[1]["webhooks"][0]["clientConfig"],
            json!({"url": "https://istiod.example.com:15017/validate?x=1", "caBundle": "Q0E="})
        );
    }

    #[test]
    fn finds_exactly_one_revision_webhook() {
        let objects = rendered(&["revision=canary"]);
        assert_eq!(
            canonical_webhook(&objects, "stable").expect_err("none"),
            TagWebhookError::NoCanonical("stable".into())
        );
        // A tag's webhook is not the revision's.
        let tag = generate(
            canonical_webhook(&objects, "canary").expect("found"),
            &TagSpec::named("prod"),
        )
        .expect("generates");
        let mut with_tag = objects.clone();
        with_tag.extend(tag);
        assert!(canonical_webhook(&with_tag, "canary").is_ok());
        let mut twice = objects.clone();
        twice.push(
            canonical_webhook(&objects, "canary")
                .expect("found")
                .clone(),
        );
        assert_eq!(
            canonical_webhook(&twice, "canary").expect_err("two"),
            TagWebhookError::MultipleCanonical("canary".into())
        );
        let bare = json!({"kind": MUTATING, "metadata": {"name": "x", "labels": {"istio.io/rev": "x"}}, "webhooks": []});
        assert_eq!(
            generate(&bare, &TagSpec::named("prod")).expect_err("no injector"),
            TagWebhookError::NoInjector("x".into())
        );
    }

    #[test]
    fn the_default_revisions_webhooks_are_deactivated_not_deleted() {
        let objects = rendered(&[]);
        let default = default_revision_webhook(&objects)
            .expect("one")
            .expect("installed");
        assert_eq!(name(default), "istio-sidecar-injector");
        assert!(!is_deactivated(default));
        let off = deactivated(default);
        assert!(is_deactivated(&off));
        // Istio's `util.NeverMatch` on both selectors of every webhook, the rest kept.
        let hooks = off["webhooks"].as_array().expect("webhooks");
        assert_eq!(
            hooks.len(),
            default["webhooks"].as_array().expect("hooks").len()
        );
        for (hook, before) in hooks
            .iter()
            .zip(default["webhooks"].as_array().expect("hooks"))
        {
            for sel in ["namespaceSelector", "objectSelector"] {
                assert_eq!(
                    hook[sel],
                    json!({"matchLabels": {"istio.io/deactivated": "never-match"}})
                );
            }
            assert_eq!(hook["clientConfig"], before["clientConfig"]);
            assert_eq!(hook["name"], before["name"]);
        }
        assert_eq!(off["metadata"], default["metadata"]);
        let typed = typed(&off);
        assert!(typed.webhooks.is_some());

        // A canary install has no default revision to deactivate; two are an error.
        assert_eq!(
            default_revision_webhook(&rendered(&["revision=canary"])).expect("ok"),
            None
        );
        let twice = [default.clone(), default.clone()];
        assert_eq!(
            default_revision_webhook(&twice).expect_err("two"),
            TagWebhookError::MultipleDefault
        );
        // The default tag's own webhook is not the default revision's.
        let tag = generate(default, &TagSpec::named("default")).expect("generates");
        assert_eq!(default_revision_webhook(&tag).expect("ok"), None);
    }

    #[test]
    fn the_validators_failure_policy_survives_a_new_default_tag() {
        let objects = rendered(&["revision=canary"]);
        let canonical = canonical_webhook(&objects, "canary").expect("found");
        let mut out = generate(canonical, &TagSpec::named("default")).expect("generates");
        assert_eq!(out[1]["webhooks"][0]["failurePolicy"], "Ignore");
        let existing = json!({"webhooks": [
            {"name": "validation.istio.io", "failurePolicy": "Fail"},
            {"name": "other", "failurePolicy": "Ignore"},
        ]});
        keep_failure_policies(&mut out[1], &existing);
        assert_eq!(out[1]["webhooks"][0]["failurePolicy"], "Fail");
        assert_eq!(out[1]["webhooks"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn validation_urls() {
        assert_eq!(
            validation_url("https://h:15017/inject"),
            "https://h:15017/validate"
        );
        assert_eq!(validation_url("https://h"), "https://h/validate");
        assert_eq!(
            validation_url("https://h/a/b?q#f"),
            "https://h/validate?q#f"
        );
        assert_eq!(validation_url("no-scheme"), "no-scheme");
    }

    fn yaml(objects: &[Value]) -> String {
        crate::install::output::join(objects.iter())
    }

    #[test]
    fn conflicts_with_what_is_installed() {
        let default_rev = yaml(&rendered(&[]));
        let canary_objects = rendered(&["revision=canary"]);
        let canary = yaml(&canary_objects);
        let canonical = canonical_webhook(&canary_objects, "canary").expect("found");
        let cluster = vec![
            ("default".to_string(), default_rev),
            ("canary".to_string(), canary),
        ];

        let prod = yaml(&generate(canonical, &TagSpec::named("prod")).expect("generates"));
        assert_eq!(
            conflicts(&cluster, &prod, "istio-revision-tag-prod"),
            vec![]
        );

        // The default tag answers `istio-injection=enabled` like the default revision does.
        let default_tag =
            yaml(&generate(canonical, &TagSpec::named("default")).expect("generates"));
        let found = conflicts(&cluster, &default_tag, "istio-revision-tag-default");
        let lines: Vec<String> = found.iter().map(Message::plain).collect();
        assert!(!lines.is_empty());
        assert!(
            lines.iter().all(|l| l.starts_with(
                "Error [IST0139] (MutatingWebhookConfiguration istio-revision-tag-default) \
                 Webhook overlaps with others: ["
            )),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("istio-sidecar-injector/namespace.sidecar-injector.istio.io")),
            "{lines:#?}"
        );

        // A tag named like a revision selects that revision's namespaces too.
        let clash = yaml(&generate(canonical, &TagSpec::named("canary")).expect("generates"));
        assert!(!conflicts(&cluster, &clash, "istio-revision-tag-canary").is_empty());
    }
}
