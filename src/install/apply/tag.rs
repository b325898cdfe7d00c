//! Revision tags in a cluster, as istioctl keeps them (`istioctl/pkg/tag`): a tag is the
//! MutatingWebhookConfiguration labelled `istio.io/tag=<tag>` (and, for the `default` tag, the
//! `istiod-default-validator` ValidatingWebhookConfiguration), built by [`crate::install::tag`]
//! from the revision's own injector webhook as the cluster holds it. `set` applies them with
//! server-side apply, `list` reads them back, `remove` deletes them. Setting the `default` tag
//! also deactivates the default revision's own injector webhooks, as istioctl does, so that
//! `istio-injection=enabled` reaches only the revision the tag names.

use std::collections::BTreeSet;

use kube::Client;
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{ApplyError, FIELD_MANAGER, ObjectRef, api_for, message};
use crate::analyze::Message;
use crate::config::kind::Kind;
use crate::install::render::names::REV_LABEL;
use crate::install::render::webhooks::DEFAULT_VALIDATOR;
use crate::install::tag::{self as webhooks, DEFAULT_TAG, TAG_LABEL, TagSpec, TagWebhookError};

const ADMISSION: &str = "admissionregistration.k8s.io/v1";
const MUTATING: &str = "MutatingWebhookConfiguration";
const VALIDATING: &str = "ValidatingWebhookConfiguration";

#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error(transparent)]
    Cluster(#[from] ApplyError),
    #[error(transparent)]
    Webhook(#[from] TagWebhookError),
    #[error("revision tag {0:?} already exists, and --overwrite is false")]
    Exists(String),
    #[error(
        "cannot create revision tag {0:?}: found existing control plane revision with same name"
    )]
    ClashesWithRevision(String),
    #[error("cannot remove tag {0:?}: cannot find MutatingWebhookConfiguration for tag")]
    Missing(String),
}

/// One row of `tag list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTag {
    pub tag: String,
    pub revision: String,
    /// Namespaces labelled `istio.io/rev=<tag>`, sorted.
    pub namespaces: Vec<String>,
}

/// A tag ready to apply (`set`) or print (`generate`).
#[derive(Debug)]
pub struct Prepared {
    /// The tag's webhook configurations.
    pub objects: Vec<Value>,
    /// The same, as the YAML stream `generate` prints.
    pub yaml: String,
    /// What the webhook analyzer finds wrong with the tag's webhook next to the cluster's.
    pub conflicts: Vec<Message>,
    /// Webhook configurations of the same tag under another name (an earlier `--webhook-name`):
    /// an overwrite replaces them.
    replaced: Vec<String>,
    /// The default revision's injector webhook configuration, deactivated: `set default`
    /// replaces the cluster's with it once the tag is in place.
    pub deactivate: Option<Value>,
}

/// The cluster's objects of `kind` that `selector` picks, as JSON with their kind and
/// apiVersion (list items carry neither, and the analyzer and [`webhooks`] need both).
async fn listed(
    client: &Client,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    selector: &str,
) -> Result<Vec<Value>, ApplyError> {
    let api = api_for(client, api_version, kind, namespace);
    let list = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| ApplyError::Read {
            what: format!("{kind} objects labelled {selector}"),
            message: message(&e),
        })?;
    Ok(list
        .items
        .into_iter()
        .map(|o| {
            let mut v = serde_json::to_value(&o).unwrap_or(Value::Null);
            v["apiVersion"] = json!(api_version);
            v["kind"] = json!(kind);
            v
        })
        .collect())
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn label<'v>(object: &'v Value, key: &str) -> Option<&'v str> {
    object["metadata"]["labels"][key].as_str()
}

/// Builds tag `spec.tag` pointing at `revision` from the cluster's webhooks, refusing what
/// istioctl refuses: a tag that exists (without `overwrite`), a tag named like an installed
/// revision (unless generating or overwriting; `default` may be both), a revision without
/// exactly one injector webhook.
pub async fn prepare(
    client: &Client,
    spec: &TagSpec,
    revision: &str,
    overwrite: bool,
    generate: bool,
) -> Result<Prepared, TagError> {
    // Every webhook of a revision or a tag: the canonical one is among them, and they are what
    // the new tag joins.
    let revision_webhooks = listed(client, ADMISSION, MUTATING, None, REV_LABEL).await?;
    let is_canonical_of =
        |w: &Value, rev: &str| label(w, REV_LABEL) == Some(rev) && label(w, TAG_LABEL).is_none();
    if !generate
        && !overwrite
        && spec.tag != DEFAULT_TAG
        && revision_webhooks
            .iter()
            .any(|w| is_canonical_of(w, &spec.tag))
    {
        return Err(TagError::ClashesWithRevision(spec.tag.clone()));
    }
    let canonical = webhooks::canonical_webhook(&revision_webhooks, revision)?;
    let existing: Vec<&Value> = revision_webhooks
        .iter()
        .filter(|w| label(w, TAG_LABEL) == Some(spec.tag.as_str()))
        .collect();
    if !existing.is_empty() && !overwrite {
        return Err(TagError::Exists(spec.tag.clone()));
    }
    let mut objects = webhooks::generate(canonical, spec)?;
    if spec.tag == DEFAULT_TAG {
        let existing = api_for(client, ADMISSION, VALIDATING, None)
            .get_opt(DEFAULT_VALIDATOR)
            .await
            .map_err(|e| ApplyError::Read {
                what: format!("{VALIDATING} {DEFAULT_VALIDATOR}"),
                message: message(&e),
            })?;
        if let Some(existing) = existing {
            let existing = serde_json::to_value(&existing).unwrap_or(Value::Null);
            for validator in objects.iter_mut().filter(|o| o["kind"] == VALIDATING) {
                webhooks::keep_failure_policies(validator, &existing);
            }
        }
    }
    let yaml = crate::install::output::join(objects.iter());

    // Only a tag that is applied takes over: `generate` prints and changes nothing.
    let deactivate = if spec.tag == DEFAULT_TAG && !generate {
        webhooks::default_revision_webhook(&revision_webhooks)?
            .filter(|w| !webhooks::is_deactivated(w))
            .map(webhooks::deactivated)
    } else {
        None
    };
    // The analyzer checks the tag's webhooks against the others (overlapping selectors), as
    // they will be once the tag is set, and against the Services they call, which live in the
    // istio namespace.
    let services = listed(client, "v1", "Service", Some(&spec.istio_namespace), "").await?;
    let after: Vec<&Value> = revision_webhooks
        .iter()
        .map(|w| match &deactivate {
            Some(d) if name_of(d) == name_of(w) => d,
            _ => w,
        })
        .collect();
    let cluster = crate::install::output::join(after.into_iter().chain(services.iter()));
    let conflicts = webhooks::conflicts_listed(
        &[("cluster".to_string(), cluster)],
        &yaml,
        &spec.webhook_name(),
        [Kind::MutatingWebhookConfiguration, Kind::Service].into(),
    );
    let replaced = existing
        .iter()
        .map(|w| name_of(w))
        .filter(|n| *n != spec.webhook_name())
        .collect();
    Ok(Prepared {
        objects,
        yaml,
        conflicts,
        replaced,
        deactivate,
    })
}

/// Applies a prepared tag: deletes what it replaces, server-side applies its webhook
/// configurations (field manager `ferryctl`, forced: the tag is ferryctl's to set), then
/// deactivates the default revision's webhooks when the tag is `default`.
///
/// istioctl deactivates first; here the tag comes first, so that for a moment two webhooks
/// inject a pod (the second injection replaces the first) rather than none.
pub async fn apply(client: &Client, prepared: &Prepared) -> Result<(), ApplyError> {
    let mutating = api_for(client, ADMISSION, MUTATING, None);
    for name in &prepared.replaced {
        delete_ignoring_missing(&mutating, MUTATING, name).await?;
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for object in &prepared.objects {
        let reference = ObjectRef::of(object);
        let api_version = object["apiVersion"].as_str().unwrap_or(ADMISSION);
        api_for(client, api_version, &reference.kind, None)
            .patch(&reference.name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| ApplyError::Apply {
                object: reference.clone(),
                message: message(&e),
            })?;
    }
    if let Some(config) = &prepared.deactivate {
        deactivate(client, config).await?;
    }
    Ok(())
}

/// Replaces the default revision's webhook configuration with its deactivated form. An update
/// of the object as it was read (its resourceVersion included), as istioctl updates it: a
/// concurrent change makes it fail rather than be lost. The installer's next server-side apply
/// of the revision takes the selectors back.
async fn deactivate(client: &Client, config: &Value) -> Result<(), ApplyError> {
    let reference = ObjectRef::of(config);
    let mut object = config.clone();
    // Left out, the API server keeps the field ownership it has and adds this update's.
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    let object: DynamicObject =
        serde_json::from_value(object).map_err(|e| ApplyError::Malformed {
            object: format!("{reference}: {e}"),
        })?;
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PostParams::default()
    };
    api_for(client, ADMISSION, MUTATING, None)
        .replace(&reference.name, &params, &object)
        .await
        .map_err(|e| ApplyError::Apply {
            object: reference,
            message: message(&e),
        })?;
    Ok(())
}

async fn delete_ignoring_missing(
    api: &kube::Api<kube::api::DynamicObject>,
    kind: &str,
    name: &str,
) -> Result<(), ApplyError> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        // Gone meanwhile: what was wanted.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(ApplyError::Prune {
            object: ObjectRef {
                kind: kind.to_string(),
                namespace: None,
                name: name.to_string(),
            },
            message: message(&e),
        }),
    }
}

/// The namespaces labelled `istio.io/rev=<tag>`: those whose new pods the tag injects.
pub async fn namespaces_with_tag(client: &Client, tag: &str) -> Result<Vec<String>, ApplyError> {
    let selector = format!("{REV_LABEL}={tag}");
    let mut names: Vec<String> = listed(client, "v1", "Namespace", None, &selector)
        .await?
        .iter()
        .map(name_of)
        .collect();
    names.sort();
    Ok(names)
}

/// Every tag of the cluster, sorted by revision then tag (istioctl's order); a tag with several
/// webhook configurations (a default tag and a renamed one) is listed once per revision.
pub async fn list(client: &Client) -> Result<Vec<ClusterTag>, ApplyError> {
    let tagged = listed(client, ADMISSION, MUTATING, None, TAG_LABEL).await?;
    let pairs: BTreeSet<(String, String)> = tagged
        .iter()
        .filter_map(|w| {
            Some((
                label(w, REV_LABEL)?.to_string(),
                label(w, TAG_LABEL)?.to_string(),
            ))
        })
        .collect();
    let mut tags = Vec::new();
    for (revision, tag) in pairs {
        let namespaces = namespaces_with_tag(client, &tag).await?;
        tags.push(ClusterTag {
            tag,
            revision,
            namespaces,
        });
    }
    Ok(tags)
}

/// Tag `tag`'s webhook configurations, as `remove` deletes them: besides the mutating ones
/// istioctl deletes, the `default` tag's validator, which left behind would keep sending every
/// Istio config write to the revision the tag no longer names. [`TagError::Missing`] when the
/// tag has no MutatingWebhookConfiguration.
pub async fn find(client: &Client, tag: &str) -> Result<Vec<ObjectRef>, TagError> {
    let selector = format!("{TAG_LABEL}={tag}");
    let mutating = listed(client, ADMISSION, MUTATING, None, &selector).await?;
    if mutating.is_empty() {
        return Err(TagError::Missing(tag.to_string()));
    }
    let validating = listed(client, ADMISSION, VALIDATING, None, &selector).await?;
    Ok(mutating
        .iter()
        .chain(validating.iter())
        .map(ObjectRef::of)
        .collect())
}

/// Deletes what [`find`] found.
pub async fn remove(client: &Client, objects: &[ObjectRef]) -> Result<(), ApplyError> {
    for object in objects {
        let api = api_for(client, ADMISSION, &object.kind, None);
        delete_ignoring_missing(&api, &object.kind, &object.name).await?;
    }
    Ok(())
}
