//! The built-in configuration profiles (`profiles/*.yaml`, embedded in the binary) and profile
//! lookup: by name, or by file path as istioctl allows (`--set profile=./my-profile.yaml`; a value
//! with a `/` or a `.` is a path, istioctl's `util.IsFilePath`).
//!
//! Every profile is an overlay on `default`. Istio's `ambient`, `openshift` and
//! `openshift-ambient` are refused by name with the reason, so users are not told they do not exist.

use super::overlay::{Document, OverlayError, OverlayFile};
use super::schema::edit_distance;

/// The profile every other one overlays.
pub const DEFAULT: &str = "default";

/// Built-in profiles, sorted by name.
const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../profiles/default.yaml")),
    ("demo", include_str!("../../profiles/demo.yaml")),
    ("empty", include_str!("../../profiles/empty.yaml")),
    ("minimal", include_str!("../../profiles/minimal.yaml")),
    ("preview", include_str!("../../profiles/preview.yaml")),
    ("remote", include_str!("../../profiles/remote.yaml")),
    ("stable", include_str!("../../profiles/stable.yaml")),
];

/// Istio profiles Ferry does not offer, and why.
const REFUSED: &[(&str, &str)] = &[
    (
        "ambient",
        "Ferry has no ambient mode (no ztunnel, no Istio CNI plugin); workloads join the mesh with \
         sidecars, so use the default profile",
    ),
    (
        "openshift",
        "OpenShift requires the Istio CNI plugin, which Ferry does not install",
    ),
    (
        "openshift-ambient",
        "Ferry has no ambient mode, and OpenShift requires the Istio CNI plugin, which Ferry does \
         not install",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile {name:?}{hint}; valid profiles: {}", names().collect::<Vec<_>>().join(", "))]
    Unknown { name: String, hint: String },
    #[error("profile {name:?} is not supported: {reason}")]
    Unsupported { name: String, reason: &'static str },
    #[error("profile {name}: {error}")]
    File { name: String, error: OverlayError },
}

/// The names of the built-in profiles, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _)| *name)
}

/// The YAML of a built-in profile.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Whether a profile value names a file rather than a built-in profile (istioctl's rule).
pub fn is_file_path(profile: &str) -> bool {
    profile.contains('/') || profile.contains('.')
}

/// A profile's IstioOperator, by built-in name or file path.
pub fn load(profile: &str) -> Result<Document, ProfileError> {
    if is_file_path(profile) {
        let file_err = |error| ProfileError::File {
            name: profile.to_string(),
            error,
        };
        let file = OverlayFile::read(profile).map_err(file_err)?;
        return Document::parse(&file.name, &file.text).map_err(file_err);
    }
    if let Some(text) = builtin(profile) {
        // The embedded profiles are tested to parse; a failure here is a build defect, reported
        // as any other file error.
        return Document::parse(&format!("profiles/{profile}.yaml"), text).map_err(|error| {
            ProfileError::File {
                name: profile.to_string(),
                error,
            }
        });
    }
    if let Some((_, reason)) = REFUSED.iter().find(|(n, _)| *n == profile) {
        return Err(ProfileError::Unsupported {
            name: profile.to_string(),
            reason,
        });
    }
    let closest = names()
        .map(|n| (edit_distance(n, &profile.to_lowercase()), n))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d);
    Err(ProfileError::Unknown {
        name: profile.to_string(),
        hint: closest.map_or(String::new(), |(_, n)| format!(" (did you mean {n}?)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_is_one_istio_operator() {
        for name in names() {
            let doc = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let findings =
                super::super::schema::istio_operator().check_document(&mut doc.tree.clone());
            assert!(findings.is_empty(), "{name}: {findings:?}");
        }
        let sorted: Vec<_> = names().collect();
        let mut again = sorted.clone();
        again.sort();
        assert_eq!(sorted, again);
    }

    #[test]
    fn istio_profiles_ferry_lacks_are_refused_with_the_reason() {
        let err = load("ambient").expect_err("refused").to_string();
        assert!(err.contains("no ambient mode"), "{err}");
        let err = load("openshift").expect_err("refused").to_string();
        assert!(err.contains("CNI"), "{err}");
        assert!(load("openshift-ambient").is_err());
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = load("dmeo").expect_err("unknown").to_string();
        assert_eq!(
            err,
            "unknown profile \"dmeo\" (did you mean demo?); valid profiles: default, demo, empty, \
             minimal, preview, remote, stable"
        );
        let err = load("production").expect_err("unknown").to_string();
        assert!(
            err.starts_with("unknown profile \"production\"; valid"),
            "{err}"
        );
    }

    #[test]
    fn paths_are_files() {
        assert!(is_file_path("./x.yaml"));
        assert!(is_file_path("x.yaml"));
        assert!(!is_file_path("demo"));
        let err = load("/nonexistent/profile.yaml")
            .expect_err("missing")
            .to_string();
        assert!(
            err.starts_with("profile /nonexistent/profile.yaml: could not read"),
            "{err}"
        );
    }
}
