//! Revision tags on the local target: a stable name (`prod`) pointing at a control plane
//! revision (`1-24-0`, `canary`), so workloads that ask for the tag follow it when it is moved,
//! as istioctl's `tag set` does with a MutatingWebhookConfiguration. One JSON file per tag.

use serde::{Deserialize, Serialize};

use crate::install::revision::Revision;
use crate::local::home::Home;
use crate::local::install::installed_revisions;
use crate::local::registry::{ControlPlaneRecord, Registry, RegistryError, write_record};

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
}

/// All tags, sorted by revision then tag (istioctl's `tag list` order).
pub fn list(home: &Home) -> Result<Vec<Tag>, TagError> {
    let dir = home.tags_dir();
    let mut tags = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(tags),
        Err(source) => return Err(RegistryError::Read { path: dir, source }.into()),
    };
    for entry in entries {
        let path = entry
            .map_err(|source| RegistryError::Read {
                path: dir.clone(),
                source,
            })?
            .path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read(&path).map_err(|source| RegistryError::Read {
            path: path.clone(),
            source,
        })?;
        let tag: Tag = serde_json::from_slice(&text)
            .map_err(|source| RegistryError::Corrupt { path, source })?;
        tags.push(tag);
    }
    tags.sort_by(|a, b| (&a.revision, &a.tag).cmp(&(&b.revision, &b.tag)));
    Ok(tags)
}

/// Points `tag` at `revision` (creating or, with `overwrite`, moving it).
pub fn set(home: &Home, tag: &str, revision: &str, overwrite: bool) -> Result<Tag, TagError> {
    let tag_name = Revision::parse_optional(tag)
        .map_err(|e| TagError::Invalid(e.to_string().replacen("revision", "revision tag", 1)))?
        .map_or("default".to_string(), |r| r.as_str().to_string());
    let revisions = installed_revisions(home).map_err(|e| {
        TagError::Registry(RegistryError::Read {
            path: home.revisions_dir(),
            source: std::io::Error::other(format!("{e:#}")),
        })
    })?;
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
