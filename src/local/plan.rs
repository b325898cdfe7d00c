//! What a local install runs, read off the rendered manifest so the local target and Kubernetes
//! install the same thing: the control plane when the install renders istiod's Deployment (with
//! the mesh config of its ConfigMap), and one router proxy per gateway Deployment (with its name,
//! namespace and pod labels, which Gateways select).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::install::render::{Component, Rendered};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// `default` for none.
    pub revision: String,
    /// The profile the install was resolved from, for messages.
    pub profile: String,
    /// Whether the install has a control plane (the `remote` profile has none).
    pub control_plane: bool,
    /// `mesh` of the rendered `istio[-<rev>]` ConfigMap, given to the control plane.
    pub mesh_config: Option<String>,
    pub gateways: Vec<GatewayPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayPlan {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// `Ingress gateways` or `Egress gateways`, istioctl's component names.
    pub component: String,
}

impl GatewayPlan {
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.namespace)
    }
}

impl Plan {
    pub fn from_rendered(revision: &str, profile: &str, objects: &[Rendered]) -> Plan {
        let mut plan = Plan {
            revision: revision.to_string(),
            profile: profile.to_string(),
            control_plane: false,
            mesh_config: None,
            gateways: Vec::new(),
        };
        for r in objects {
            let (kind, namespace, name) = r.identity();
            match (r.component, kind) {
                (Component::Pilot, "Deployment") => plan.control_plane = true,
                (Component::Pilot, "ConfigMap") => {
                    if let Some(mesh) = r.object.pointer("/data/mesh").and_then(Value::as_str) {
                        plan.mesh_config = Some(mesh.to_string());
                    }
                }
                (Component::IngressGateways | Component::EgressGateways, "Deployment") => {
                    let labels = r
                        .object
                        .pointer("/spec/template/metadata/labels")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                                .collect()
                        })
                        .unwrap_or_default();
                    plan.gateways.push(GatewayPlan {
                        name: name.to_string(),
                        namespace: namespace.to_string(),
                        labels,
                        component: r.component.display_name().to_string(),
                    });
                }
                _ => {}
            }
        }
        plan
    }
}
