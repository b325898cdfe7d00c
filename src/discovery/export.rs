//! `exportTo`: which namespaces may see a VirtualService, DestinationRule, ServiceEntry or
//! Service (through its `networking.istio.io/exportTo` annotation).

/// The annotation a Kubernetes Service uses for `exportTo`.
pub const EXPORT_TO_ANNOTATION: &str = "networking.istio.io/exportTo";

/// An `exportTo` list as written. Empty means Istio's default, `*` (every namespace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportTo(Vec<String>);

impl ExportTo {
    pub fn new(entries: &[String]) -> ExportTo {
        ExportTo(entries.iter().map(|e| e.trim().to_string()).collect())
    }

    /// From the comma-separated annotation value.
    pub fn from_annotation(value: &str) -> ExportTo {
        ExportTo(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    /// Whether an object in `owner` is visible from namespace `ns`: `*` is every namespace, `.`
    /// the owner's own, `~` none, anything else a namespace name.
    pub fn visible(&self, owner: &str, ns: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        self.0.iter().any(|e| match e.as_str() {
            "*" => true,
            "." => owner == ns,
            "~" => false,
            other => other == ns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(v: &[&str]) -> ExportTo {
        ExportTo::new(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn default_and_star_export_everywhere() {
        assert!(export(&[]).visible("a", "b"));
        assert!(export(&["*"]).visible("a", "b"));
    }

    #[test]
    fn dot_is_the_owners_namespace_and_tilde_is_none() {
        assert!(export(&["."]).visible("a", "a"));
        assert!(!export(&["."]).visible("a", "b"));
        assert!(!export(&["~"]).visible("a", "a"));
        assert!(export(&["b", "."]).visible("a", "b"));
        assert!(!export(&["c"]).visible("a", "b"));
    }

    #[test]
    fn annotation_lists_are_comma_separated() {
        assert!(ExportTo::from_annotation(" ., b ").visible("a", "b"));
        assert!(!ExportTo::from_annotation(".").visible("a", "b"));
    }
}
