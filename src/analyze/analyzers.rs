//! The analyzers, one file per analyzer group (Istio's package names), and the registry.

pub mod annotations;
pub mod annotations_table;
pub mod auth_authorizationpolicies;
pub mod conditions;
pub mod deployment_applicationuid;
pub mod deployment_multiservice;
pub mod deprecation;
pub mod destinationrule_cacertificates;
pub mod destinationrule_subset;
pub mod envoyfilter_patch;
pub mod externalcontrolplane;
pub mod gateway_certificate;
pub mod gateway_conflicting;
pub mod gateway_ingress_port;
pub mod gateway_secret;
pub mod hosts;
pub mod injection;
pub mod injection_image;
pub mod injection_imageauto;
pub mod k8sgateway_selector;
pub mod meshnetworks;
pub mod schema;
pub mod service_portname;
pub mod service_registry;
pub mod serviceentry_addresses;
pub mod sidecar_selector;
pub mod telemetry;
pub mod virtualservice_conflictingmeshgatewayhosts;
pub mod virtualservice_destinationhosts;
pub mod virtualservice_destinationrules;
pub mod virtualservice_gateways;
pub mod virtualservice_jwtclaimroute;
pub mod webhook;

use super::context::Analyzer;

/// Every analyzer, in registration order.
pub fn all() -> Vec<Analyzer> {
    let mut all = vec![
        virtualservice_destinationrules::ANALYZER,
        destinationrule_cacertificates::ANALYZER,
        destinationrule_subset::ANALYZER,
        serviceentry_addresses::ANALYZER,
        envoyfilter_patch::ANALYZER,
        deprecation::ANALYZER,
        virtualservice_conflictingmeshgatewayhosts::ANALYZER,
        virtualservice_destinationhosts::ANALYZER,
        virtualservice_gateways::ANALYZER,
        virtualservice_jwtclaimroute::ANALYZER,
        gateway_ingress_port::ANALYZER,
        gateway_certificate::ANALYZER,
        gateway_secret::ANALYZER,
        gateway_conflicting::ANALYZER,
        sidecar_selector::ANALYZER,
        annotations::ANALYZER,
        deployment_multiservice::ANALYZER,
        deployment_applicationuid::ANALYZER,
        injection::ANALYZER,
        injection_image::ANALYZER,
        injection_imageauto::ANALYZER,
        service_portname::ANALYZER,
        auth_authorizationpolicies::ANALYZER,
        externalcontrolplane::ANALYZER,
        meshnetworks::ANALYZER,
        webhook::ANALYZER,
        telemetry::PROVIDER_ANALYZER,
        telemetry::SELECTOR_ANALYZER,
        telemetry::DEFAULT_SELECTOR_ANALYZER,
        telemetry::LIGHTSTEP_ANALYZER,
        conditions::ANALYZER,
        k8sgateway_selector::ANALYZER,
    ];
    // Istio registers the schema analyzers after all the others.
    all.extend(schema::ANALYZERS);
    all
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs one analyzer over YAML text and returns `(code, origin)` pairs, as Istio's analyzer
    //! tests compare.

    use crate::analyze::context::{Analyzer, Context, workloads};
    use crate::analyze::mesh::MeshConfig;
    use crate::config::source::{LoadOptions, parse_file};
    use crate::config::store::Store;

    pub fn run(analyzer: &Analyzer, yaml: &str) -> Vec<(String, String)> {
        run_with_mesh(analyzer, yaml, &MeshConfig::default())
    }

    pub fn run_with_mesh(
        analyzer: &Analyzer,
        yaml: &str,
        mesh: &MeshConfig,
    ) -> Vec<(String, String)> {
        let parsed = parse_file(
            "test.yaml",
            yaml,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        assert!(
            parsed.errors.is_empty(),
            "fixture errors: {:?}",
            parsed.errors
        );
        let mut store = Store::new(parsed.resources);
        crate::analyze::defaults::add(&mut store, mesh);
        let wl = workloads(&store);
        let mut ctx = Context::new(&store, mesh, &wl);
        (analyzer.run)(&mut ctx);
        let mut out: Vec<(String, String)> = ctx
            .into_messages()
            .into_iter()
            .map(|m| {
                (
                    m.typ.code.to_string(),
                    m.origin.map(|o| o.friendly_name).unwrap_or_default(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Runs one analyzer and returns the rendered log lines.
    pub fn lines(analyzer: &Analyzer, yaml: &str) -> Vec<String> {
        let parsed = parse_file(
            "test.yaml",
            yaml,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        let mesh = MeshConfig::default();
        let mut store = Store::new(parsed.resources);
        crate::analyze::defaults::add(&mut store, &mesh);
        let wl = workloads(&store);
        let mut ctx = Context::new(&store, &mesh, &wl);
        (analyzer.run)(&mut ctx);
        let mut out: Vec<String> = ctx.into_messages().iter().map(|m| m.plain()).collect();
        out.sort();
        out
    }

    pub fn pair(code: &str, origin: &str) -> (String, String) {
        (code.to_string(), origin.to_string())
    }
}
