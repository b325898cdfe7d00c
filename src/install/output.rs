//! Rendered objects as text: one multi-document YAML stream (`manifest generate`), or one file
//! per component in the directory tree `istioctl manifest generate -o DIR` writes. Pure: the
//! command layer writes the files.

use std::path::PathBuf;

use serde_json::Value;

use super::render::{Component, Rendered};
use crate::config::emit;

/// Separates the documents of a stream.
pub const DOCUMENT_SEPARATOR: &str = "---\n";

/// One object as a YAML document (go-yaml style, keys in the order rendered).
pub fn object_yaml(object: &Value) -> String {
    emit::to_string(object)
}

/// Every object in order, as documents separated by `---`.
pub fn to_yaml(rendered: &[Rendered]) -> String {
    join(rendered.iter().map(|r| &r.object))
}

/// Objects as documents separated by `---`, in the given order.
pub fn join<'a>(objects: impl Iterator<Item = &'a Value>) -> String {
    let docs: Vec<String> = objects.map(object_yaml).collect();
    docs.join(DOCUMENT_SEPARATOR)
}

/// Where a component's file goes under the output directory. istioctl nests the directories
/// along its install dependency tree (Base → Pilot → gateways) and names each file after its
/// component: `Base/Base.yaml`, `Base/Pilot/Pilot.yaml`,
/// `Base/Pilot/IngressGateways/IngressGateways.yaml`, `Base/Pilot/EgressGateways/EgressGateways.yaml`.
pub fn component_path(component: Component) -> PathBuf {
    let mut dir = PathBuf::new();
    for c in dependency_chain(component) {
        dir.push(c.name());
    }
    dir.join(format!("{}.yaml", component.name()))
}

/// The components from the root of the install tree down to `component`.
fn dependency_chain(component: Component) -> Vec<Component> {
    match component {
        Component::Base => vec![Component::Base],
        Component::Pilot => vec![Component::Base, Component::Pilot],
        Component::IngressGateways | Component::EgressGateways => {
            vec![Component::Base, Component::Pilot, component]
        }
    }
}

/// `(relative path, contents)` for every component that renders objects, in apply order. A
/// component that renders nothing gets no file, as with istioctl; see [`owned_paths`] for what a
/// writer removes so that the directory holds only this render.
pub fn component_files(rendered: &[Rendered]) -> Vec<(PathBuf, String)> {
    Component::ALL
        .iter()
        .filter(|&&c| rendered.iter().any(|r| r.component == c))
        .map(|&c| {
            let text = join(
                rendered
                    .iter()
                    .filter(|r| r.component == c)
                    .map(|r| &r.object),
            );
            (component_path(c), text)
        })
        .collect()
}

/// Every file and directory of the output layout, files first and deeper directories before
/// their parents: what a previous render may have left and Ferry may remove. Nothing else under
/// the output directory is Ferry's.
pub fn owned_paths() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let files: Vec<PathBuf> = Component::ALL.iter().map(|&c| component_path(c)).collect();
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(PathBuf::from))
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs.dedup();
    (files, dirs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(component: Component, name: &str) -> Rendered {
        Rendered {
            component,
            object: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
        }
    }

    #[test]
    fn documents_are_separated_by_dashes() {
        let text = to_yaml(&[obj(Component::Base, "a"), obj(Component::Pilot, "b")]);
        assert_eq!(
            text,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"
        );
        assert_eq!(to_yaml(&[]), "");
    }

    #[test]
    fn directory_follows_istioctls_install_tree() {
        let files = component_files(&[obj(Component::Pilot, "b"), obj(Component::Pilot, "c")]);
        let paths: Vec<String> = files
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            ["Base/Pilot/Pilot.yaml"],
            "only what renders objects"
        );
        assert_eq!(files[0].1.matches("kind: ConfigMap").count(), 2);
        assert!(files[0].1.contains("---\n"));
        let all = component_files(&Component::ALL.map(|c| obj(c, "x")));
        let paths: Vec<String> = all
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            [
                "Base/Base.yaml",
                "Base/Pilot/Pilot.yaml",
                "Base/Pilot/IngressGateways/IngressGateways.yaml",
                "Base/Pilot/EgressGateways/EgressGateways.yaml",
            ]
        );
    }

    #[test]
    fn owned_paths_are_the_layout_deepest_directories_first() {
        let (files, dirs) = owned_paths();
        assert_eq!(files.len(), 4);
        let dirs: Vec<String> = dirs
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            dirs,
            [
                "Base/Pilot/IngressGateways",
                "Base/Pilot/EgressGateways",
                "Base/Pilot",
                "Base",
            ]
        );
    }
}
