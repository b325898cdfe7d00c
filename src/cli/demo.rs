//! `ferryctl demo`: the README's first command (see `local::demo`), and `ferryctl sample-app`,
//! the sample HTTP service it runs.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;

use crate::cli::GlobalArgs;
use crate::cli::install::{Progress, local_plan};
use crate::exit::Exit;
use crate::install::resolve::ResolveInput;
use crate::local::demo::{self, GATEWAY_PORT, HOST};
use crate::local::home::Home;
use crate::local::install as local_install;
use crate::local::registry::Registry;
use crate::local::sample;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    ferryctl demo                         # run it; the mesh stays up afterwards\n  \
    ferryctl demo --requests 5000         # a larger sample for the split\n  \
    ferryctl uninstall --local --purge -y # stop and remove everything it started")]
pub struct DemoArgs {
    /// Requests to send for the weighted split
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
}

#[derive(Debug, Args)]
// `--version` is the app's version here, not ferryctl's.
#[command(disable_version_flag = true)]
pub struct SampleAppArgs {
    /// The service name the app reports
    #[arg(long, default_value = "sample")]
    pub service: String,
    /// The version the app reports
    #[arg(long, default_value = "v1")]
    pub version: String,
    /// Address to listen on (port 0: any free port, printed on stderr)
    #[arg(long, env = "PORT", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    pub listen: SocketAddr,
}

/// `--listen` also takes a bare port, as `PORT=9080` environments give it.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse()
        .map_err(|_| format!("invalid address {s:?} (e.g. 127.0.0.1:9080 or 9080)"))
}

pub fn run_sample_app(args: &SampleAppArgs) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = sample::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        eprintln!(
            "ferryctl sample-app: {} {} on {addr}",
            args.service, args.version
        );
        sample::serve(
            listener,
            sample::Identity {
                service: args.service.clone(),
                version: args.version.clone(),
            },
        )
        .await
        .context("serving")
    })?;
    Ok(Exit::Success)
}

pub fn run_demo(_global: &GlobalArgs, args: &DemoArgs) -> Result<Exit> {
    let home = Home::from_env()?;
    eprintln!(
        "Ferry demo: bookinfo's reviews service on the local mesh at {}",
        home.root().display()
    );
    let (plan, manifest) = local_plan(&ResolveInput {
        files: Vec::new(),
        sets: Vec::new(),
        revision: None,
        force: false,
    })?;
    let mut progress = Progress::new();
    local_install::install(
        &home,
        &plan,
        &manifest,
        Duration::from_secs(60),
        &mut |step| progress.step(step),
    )
    .inspect_err(|_| progress.fail())?;
    progress.line("✔ Installation complete");

    let apps = demo::ensure_workloads(&home)?;
    eprintln!(
        "✔ Workloads running behind their sidecars: {}",
        apps.iter()
            .map(|(v, a)| format!("reviews {v} on {a}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = std::fs::remove_file(home.config_dir().join(demo::OLD_REGISTRY_FILE));
    demo::write_config(&home.config_dir(), &demo::config_files()?)?;
    eprintln!(
        "✔ Applied the seed's Gateway, reviews VirtualService (bound to the Gateway) and \
         DestinationRule (plus subset v3) in {}",
        home.config_dir().display()
    );
    let gateway = SocketAddr::from(([127, 0, 0, 1], GATEWAY_PORT));
    let gateway_admin = Registry::at(home.clone())
        .find_proxy("istio-ingressgateway.istio-system")
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .admin;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (split, jason) = runtime.block_on(async {
        demo::wait_routed(gateway, gateway_admin, Duration::from_secs(20)).await?;
        let split = demo::send(gateway, args.requests, &[]).await?;
        let jason = demo::send(gateway, 100, &[("end-user", "jason")]).await?;
        anyhow::Ok((split, jason))
    })?;
    eprintln!("✔ The ingress gateway routes {HOST} on {gateway}");

    let mut out = String::new();
    out.push_str(&format!(
        "\n{} requests to http://{gateway}/reviews/0 (Host: {HOST}):\n",
        split.total()
    ));
    out.push_str(&tally_lines(
        &split,
        &[("v1", "weight 90"), ("v3", "weight 10")],
    ));
    out.push_str(&format!(
        "{} requests with header end-user: jason:\n",
        jason.total()
    ));
    out.push_str(&tally_lines(&jason, &[("v2", "header match")]));
    out.push_str(&format!("\n{}", sync_summary(&home)?));
    out.push_str(&format!(
        "\nThe mesh keeps running. Explore it:\n  \
         curl -H 'Host: {HOST}' -H 'end-user: jason' http://{gateway}/reviews/0\n  \
         ls {config}   # edit the weights here; the gateway follows within a second\n  \
         curl http://{admin}/config_dump   # the gateway's Envoy admin API\n  \
         ferryctl proxy-config route istio-ingressgateway.istio-system --local\n  \
         ferryctl proxy-status reviews-v1.default --local   # intended vs. actual config\n  \
         ferryctl verify-install --local\n\
         Stop it and remove everything it started:\n  \
         ferryctl uninstall --local --purge -y\n",
        config = home.config_dir().display(),
        admin = Registry::at(home.clone())
            .find_proxy("istio-ingressgateway.istio-system")
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .admin,
    ));
    crate::cli::output::write_stdout(&out)?;
    let unexpected =
        split.failures.values().sum::<usize>() + jason.failures.values().sum::<usize>();
    Ok(
        if unexpected == 0 && jason.versions.keys().all(|v| v == "v2") {
            Exit::Success
        } else {
            Exit::Failure
        },
    )
}

fn tally_lines(tally: &demo::Tally, expected: &[(&str, &str)]) -> String {
    let total = tally.total().max(1) as f64;
    let mut out = String::new();
    for (version, count) in &tally.versions {
        let note = expected
            .iter()
            .find(|(v, _)| v == version)
            .map_or("not expected".to_string(), |(_, n)| {
                format!("VirtualService {n}")
            });
        out.push_str(&format!(
            "  reviews {version}  {count:>6}  {:>5.1}%   ({note})\n",
            *count as f64 * 100.0 / total
        ));
    }
    for (status, count) in &tally.failures {
        out.push_str(&format!("  status {status}  {count:>6}  (failed)\n"));
    }
    out
}

/// `ferryctl proxy-status` of the local mesh: every proxy, the control plane it is on and
/// whether it has acknowledged the latest config.
fn sync_summary(home: &Home) -> Result<String> {
    use crate::proxystatus::gather::{self, ControlPlane};
    let registry = Registry::at(home.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut planes = Vec::new();
    for cp in registry
        .control_planes()?
        .into_iter()
        .filter(|c| c.running())
    {
        let plane = ControlPlane::Http {
            name: crate::local::registry::control_plane_name(&cp.revision),
            monitoring: cp.monitoring,
        };
        planes.push(runtime.block_on(gather::syncz(&plane, Duration::from_secs(10)))?);
    }
    Ok(format!(
        "$ ferryctl proxy-status --local\n{}",
        crate::proxystatus::table::list(&planes)
    ))
}
