//! Revision tags on the local target: a stable name (`prod`) pointing at a control plane
//! revision (`1-24-0`, `canary`), so workloads that ask for the tag follow it when it is moved,
//! as istioctl's `tag set` does with a MutatingWebhookConfiguration. One JSON file per tag.
//! [`generate`] prints that MutatingWebhookConfiguration, built from the manifest the revision
//! was installed with, for users who apply tags to a cluster themselves.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analyze::Message;
use crate::install::revision::Revision;
use crate::install::tag::{self as tag_webhook, TagSpec, TagWebhookError};
use crate::local::home::Home;
use crate::local::install::{MANIFEST_FILE, installed_revisions};
use crate::local::registry::{self, ControlPlaneRecord, Registry, RegistryError, write_record};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub tag: String,
    pub revision: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Invalid(String),
    #[error("revision tag {0:?} already exists, and --overwrite is false")]
    Exists(String),
    #[error(
        "cannot modify tag: cannot find control plane revision {0:?} in the local mesh; installed: {1}"
    )]
    NoRevision(String, String),
    #[error(
        "cannot create revision tag {0:?}: found existing control plane revision with same name"
    )]
    ClashesWithRevision(String),
    #[error("revision tag {0:?} does not exist")]
    Missing(String),
    #[error(transparent)]
    Webhook(#[from] TagWebhookError),
    #[error(
        "{path} is not a manifest ferryctl can read ({message}); reinstall the revision to \
         rewrite it"
    )]
    BadManifest { path: PathBuf, message: String },
}

/// All tags, sorted by revision then tag (istioctl's `tag list` order).
pub fn list(home: &Home) -> Result<Vec<Tag>, TagError> {
    let mut tags: Vec<Tag> = registry::read_dir_records(&home.tags_dir())?;
    tags.sort_by(|a, b| (&a.revision, &a.tag).cmp(&(&b.revision, &b.tag)));
    Ok(tags)
}

/// A tag name as the CLI takes it: a DNS-1123 label; empty means `default`.
fn tag_name(tag: &str) -> Result<String, TagError> {
    Ok(Revision::parse_optional(tag)
        .map_err(|e| TagError::Invalid(e.to_string().replacen("revision", "revision tag", 1)))?
        .map_or("default".to_string(), |r| r.as_str().to_string()))
}

/// The installed revisions, refusing when `revision` is not one of them.
fn require_revision(home: &Home, revision: &str) -> Result<Vec<String>, TagError> {
    let revisions = installed_revisions(home)?;
    if !revisions.iter().any(|r| r == revision) {
        return Err(TagError::NoRevision(
            revision.to_string(),
            if revisions.is_empty() {
                "none".into()
            } else {
                revisions.join(", ")
            },
        ));
    }
    Ok(revisions)
}

/// Points `tag` at `revision` (creating or, with `overwrite`, moving it).
pub fn set(home: &Home, tag: &str, revision: &str, overwrite: bool) -> Result<Tag, TagError> {
    let tag_name = tag_name(tag)?;
    let revisions = require_revision(home, revision)?;
    if revisions.contains(&tag_name) {
        return Err(TagError::ClashesWithRevision(tag_name));
    }
    if !overwrite && home.tag_file(&tag_name).exists() {
        return Err(TagError::Exists(tag_name));
    }
    let t = Tag {
        tag: tag_name,
        revision: revision.to_string(),
    };
    write_record(&home.tag_file(&t.tag), &t)?;
    Ok(t)
}

pub fn remove(home: &Home, tag: &str) -> Result<(), TagError> {
    match std::fs::remove_file(home.tag_file(tag)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(TagError::Missing(tag.into())),
        Err(source) => Err(RegistryError::Write {
            path: home.tag_file(tag),
            source,
        }
        .into()),
    }
}

/// What `tag generate` prints, and what it would conflict with.
#[derive(Debug)]
pub struct Generated {
    /// The tag's name after defaulting (`default` for an empty one).
    pub tag: String,
    /// The tag's objects as a YAML stream: its MutatingWebhookConfiguration, and for the
    /// `default` tag the `istiod-default-validator` ValidatingWebhookConfiguration.
    pub yaml: String,
    /// Errors the webhook analyzer finds on the tag's MutatingWebhookConfiguration next to what
    /// the local mesh has installed (its revisions' webhooks and its other tags').
    pub conflicts: Vec<Message>,
}

/// Generates the objects of tag `spec.tag` pointing at `revision` from the manifest the revision
/// was installed with, as `istioctl tag generate` does from the revision's webhook in a cluster.
/// Like istioctl's generate, it does not refuse a tag named like a revision (the conflicts say
/// what such a tag would overlap with), but it does refuse to replace an existing tag without
/// `overwrite`.
pub fn generate(
    home: &Home,
    spec: &TagSpec,
    revision: &str,
    overwrite: bool,
) -> Result<Generated, TagError> {
    let spec = TagSpec {
        tag: tag_name(&spec.tag)?,
        ..spec.clone()
    };
    let revisions = require_revision(home, revision)?;
    if !overwrite && home.tag_file(&spec.tag).exists() {
        return Err(TagError::Exists(spec.tag));
    }
    let objects = manifest_objects(home, revision)?;
    let generated =
        tag_webhook::generate(tag_webhook::canonical_webhook(&objects, revision)?, &spec)?;
    let yaml = crate::install::output::join(generated.iter());

    // What the tag joins: every installed revision's manifest and the recorded tags' webhooks
    // (one of the same name is what this one replaces). Only the target revision's manifest must
    // be readable; the rest is best effort.
    let mut cluster: Vec<(String, String)> = Vec::new();
    for rev in &revisions {
        let path = manifest_path(home, rev);
        if let Ok(text) = std::fs::read_to_string(&path) {
            cluster.push((path.display().to_string(), text));
        }
    }
    for other in list(home)? {
        // Recorded tags keep only their revision: their webhooks have the default shape.
        let other_spec = TagSpec {
            tag: other.tag.clone(),
            webhook_name: None,
            auto_inject_namespaces: false,
            istio_namespace: spec.istio_namespace.clone(),
        };
        let objects = manifest_objects(home, &other.revision).ok();
        let webhooks = objects.as_deref().and_then(|o| {
            tag_webhook::generate(
                tag_webhook::canonical_webhook(o, &other.revision).ok()?,
                &other_spec,
            )
            .ok()
        });
        if let Some(w) = webhooks {
            cluster.push((
                home.tag_file(&other.tag).display().to_string(),
                crate::install::output::join(w.iter()),
            ));
        }
    }
    let conflicts = tag_webhook::conflicts(&cluster, &yaml, &spec.webhook_name());
    Ok(Generated {
        tag: spec.tag,
        yaml,
        conflicts,
    })
}

/// The manifest `install` rendered for revision `rev` (see `local::install`).
fn manifest_path(home: &Home, rev: &str) -> PathBuf {
    home.revision_dir(rev).join(MANIFEST_FILE)
}

/// The objects of revision `rev`'s manifest.
fn manifest_objects(home: &Home, rev: &str) -> Result<Vec<Value>, TagError> {
    let path = manifest_path(home, rev);
    let text = std::fs::read_to_string(&path).map_err(|source| RegistryError::Read {
        path: path.clone(),
        source,
    })?;
    let stream = crate::config::yaml::parse_stream(&text, Default::default());
    if let Some(e) = stream.errors.first() {
        return Err(TagError::BadManifest {
            path,
            message: e.to_string(),
        });
    }
    Ok(stream.documents.iter().map(|d| d.root.to_json()).collect())
}

/// The running control plane `name` selects: a revision, else a tag's revision (what
/// `istio.io/rev=<name>` means for a workload).
pub fn resolve(home: &Home, name: &str) -> Result<Option<ControlPlaneRecord>, TagError> {
    let registry = Registry::at(home.clone());
    if let Some(cp) = registry.control_plane(name)? {
        return Ok(Some(cp));
    }
    let tag = list(home)?.into_iter().find(|t| t.tag == name);
    match tag {
        Some(t) => Ok(registry.control_plane(&t.revision)?),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_with(revs: &[&str]) -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::at(dir.path());
        for r in revs {
            let d = home.revision_dir(r);
            std::fs::create_dir_all(&d).expect("mkdir");
            std::fs::write(d.join(crate::local::supervisor::PLAN_FILE), "{}").expect("plan");
        }
        (dir, home)
    }

    #[test]
    fn set_list_move_and_remove() {
        let (_dir, home) = home_with(&["1-24-0", "canary"]);
        assert!(list(&home).expect("empty").is_empty());
        set(&home, "prod", "1-24-0", false).expect("set");
        set(&home, "default", "canary", false).expect("set");
        let tags = list(&home).expect("list");
        assert_eq!(
            tags.iter()
                .map(|t| (t.tag.as_str(), t.revision.as_str()))
                .collect::<Vec<_>>(),
            vec![("prod", "1-24-0"), ("default", "canary")]
        );
        let err = set(&home, "prod", "canary", false).expect_err("exists");
        assert_eq!(
            err.to_string(),
            "revision tag \"prod\" already exists, and --overwrite is false"
        );
        set(&home, "prod", "canary", true).expect("moved");
        assert!(
            list(&home)
                .expect("list")
                .iter()
                .all(|t| t.revision == "canary")
        );
        remove(&home, "prod").expect("removed");
        assert!(matches!(remove(&home, "prod"), Err(TagError::Missing(_))));
    }

    /// A home where `revs` are installed with the manifests `install --local` keeps.
    fn installed(revs: &[&str]) -> (tempfile::TempDir, Home) {
        let (dir, home) = home_with(revs);
        for r in revs {
            let resolved =
                crate::install::resolve::resolve(&crate::install::resolve::ResolveInput {
                    files: Vec::new(),
                    sets: Vec::new(),
                    revision: Some(r.to_string()),
                    force: false,
                })
                .expect("resolves");
            let rendered = crate::install::render::render(&resolved.iop).expect("renders");
            std::fs::write(
                home.revision_dir(r).join(MANIFEST_FILE),
                crate::install::output::to_yaml(&rendered),
            )
            .expect("manifest");
        }
        (dir, home)
    }

    #[test]
    fn generate_reads_the_revision_manifest_and_records_nothing() {
        let (_dir, home) = installed(&["default", "canary"]);
        let g = generate(&home, &TagSpec::named("prod"), "canary", false).expect("generates");
        assert!(
            g.yaml.contains("name: istio-revision-tag-prod\n"),
            "{}",
            g.yaml
        );
        assert!(g.conflicts.is_empty(), "{:?}", g.conflicts);
        assert!(list(&home).expect("list").is_empty());

        // An empty tag is the default tag, which answers what the default revision answers.
        let g = generate(&home, &TagSpec::named(""), "canary", false).expect("generates");
        assert_eq!(g.tag, "default");
        assert!(g.yaml.contains("name: istiod-default-validator\n"));
        assert!(!g.conflicts.is_empty());

        // A recorded tag is replaced by its regenerated self, and conflicts with a copy under
        // another name.
        set(&home, "stable", "canary", false).expect("set");
        assert!(matches!(
            generate(&home, &TagSpec::named("stable"), "canary", false),
            Err(TagError::Exists(_))
        ));
        let g = generate(&home, &TagSpec::named("stable"), "canary", true).expect("generates");
        assert!(g.conflicts.is_empty(), "{:?}", g.conflicts);
        let renamed = TagSpec {
            webhook_name: Some("stable-copy".into()),
            ..TagSpec::named("stable")
        };
        let g = generate(&home, &renamed, "canary", true).expect("generates");
        assert!(
            g.conflicts
                .iter()
                .any(|m| m.text.contains("istio-revision-tag-stable/")),
            "{:?}",
            g.conflicts
        );
    }

    #[test]
    fn generate_needs_the_revision_manifest() {
        let (_dir, home) = home_with(&["canary"]);
        let err = generate(&home, &TagSpec::named("prod"), "nope", false).expect_err("no revision");
        assert!(err.to_string().contains("installed: canary"), "{err}");
        let err =
            generate(&home, &TagSpec::named("prod"), "canary", false).expect_err("no manifest");
        assert!(err.to_string().contains("manifest.yaml"), "{err}");
        std::fs::write(
            home.revision_dir("canary").join(MANIFEST_FILE),
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n",
        )
        .expect("manifest");
        let err =
            generate(&home, &TagSpec::named("prod"), "canary", false).expect_err("no webhook");
        assert_eq!(
            err.to_string(),
            "cannot modify tag: cannot find MutatingWebhookConfiguration with revision \"canary\""
        );
    }

    #[test]
    fn refuses_unknown_revisions_and_revision_names() {
        let (_dir, home) = home_with(&["canary"]);
        let err = set(&home, "prod", "nope", false).expect_err("no revision");
        assert!(err.to_string().contains("installed: canary"), "{err}");
        let err = set(&home, "canary", "canary", false).expect_err("clash");
        assert!(matches!(err, TagError::ClashesWithRevision(_)));
        assert!(matches!(
            set(&home, "Bad_Tag", "canary", false),
            Err(TagError::Invalid(_))
        ));
    }
}
