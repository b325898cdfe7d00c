//! `ferryctl kube-inject`: istioctl's manual sidecar injection. The injector config, values and
//! mesh config come from files (offline), from an IstioOperator rendered as `manifest generate`
//! renders it (offline), or from the cluster's injector and mesh ConfigMaps; the injection
//! itself is `inject::inject_stream`.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::Args;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use crate::cli::GlobalArgs;
use crate::cli::output::write_stdout;
use crate::discovery::source::kube::client;
use crate::exit::{CommandError, Exit};
use crate::inject::{Injector, InjectorConfig, MeshSettings, Values, inject_stream};
use crate::install::overlay::OverlayFile;
use crate::install::render::{self, Rendered};
use crate::install::resolve::{ResolveInput, resolve};

const DEFAULT_MESH_CONFIGMAP: &str = "istio";
const DEFAULT_INJECT_CONFIGMAP: &str = "istio-sidecar-injector";

#[derive(Debug, Args)]
#[command(
    about = "Inject Istio sidecar into Kubernetes pod resources",
    long_about = "kube-inject manually injects the Istio sidecar into Kubernetes workloads. \
                  Unsupported resources are left unmodified so it is safe to run kube-inject over \
                  a single file that contains multiple Service, ConfigMap, Deployment, etc. \
                  definitions for a complex application. When in doubt re-run ferryctl \
                  kube-inject on deployments to get the most up-to-date changes.\n\n\
                  It's best to do kube-inject when the resource is initially created.\n\n\
                  With --injectConfigFile or --operatorFileName no cluster is contacted (mesh \
                  config and values not given as files take their defaults); otherwise the \
                  injector and mesh ConfigMaps of the revision are read from the cluster.",
    after_help = "Examples:\n  \
        # Update resources on the fly before applying.\n  \
        kubectl apply -f <(ferryctl kube-inject -f <resource.yaml>)\n\n  \
        # Create a persistent version of the deployment with the sidecar injected.\n  \
        ferryctl kube-inject -f deployment.yaml -o deployment-injected.yaml\n\n  \
        # Update an existing deployment.\n  \
        kubectl get deployment -o yaml | ferryctl kube-inject -f - | kubectl apply -f -\n\n  \
        # Capture cluster configuration for later use with kube-inject\n  \
        kubectl -n istio-system get cm istio-sidecar-injector -o jsonpath=\"{.data.config}\" > /tmp/inj-template.tmpl\n  \
        kubectl -n istio-system get cm istio -o jsonpath=\"{.data.mesh}\" > /tmp/mesh.yaml\n  \
        kubectl -n istio-system get cm istio-sidecar-injector -o jsonpath=\"{.data.values}\" > /tmp/values.json\n\n  \
        # Use kube-inject based on captured configuration\n  \
        ferryctl kube-inject -f samples/bookinfo/platform/kube/bookinfo.yaml \\\n    \
        --injectConfigFile /tmp/inj-template.tmpl \\\n    \
        --meshConfigFile /tmp/mesh.yaml \\\n    \
        --valuesFile /tmp/values.json"
)]
pub struct KubeInjectArgs {
    /// Input Kubernetes resource filename
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filename: Option<String>,
    /// Modified output Kubernetes resource filename
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,
    /// Mesh configuration filename. Takes precedence over --meshConfigMapName if set
    #[arg(long = "meshConfigFile", value_name = "FILE")]
    pub mesh_config_file: Option<String>,
    /// Injection configuration filename. Cannot be used with --injectConfigMapName
    #[arg(long = "injectConfigFile", value_name = "FILE")]
    pub inject_config_file: Option<String>,
    /// Injection values configuration filename.
    #[arg(long = "valuesFile", value_name = "FILE")]
    pub values_file: Option<String>,
    /// Path to file containing IstioOperator custom resources. If configs from files like
    /// meshConfigFile, valuesFile are provided, they will be overridden by iop config values.
    #[arg(long = "operatorFileName", value_name = "FILE")]
    pub operator_file_name: Option<String>,
    /// ConfigMap name for Istio mesh configuration, key should be "mesh"
    #[arg(long = "meshConfigMapName", default_value = DEFAULT_MESH_CONFIGMAP)]
    pub mesh_config_map_name: String,
    /// ConfigMap name for Istio sidecar injection, key should be "config".
    #[arg(long = "injectConfigMapName", default_value = DEFAULT_INJECT_CONFIGMAP, hide = true)]
    pub inject_config_map_name: String,
    /// Control plane revision
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
}

/// The three texts injection reads, and where each came from (for error messages).
#[derive(Default)]
struct Texts {
    config: Option<(String, String)>,
    values: Option<(String, String)>,
    mesh: Option<(String, String)>,
}

fn read_file(path: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

pub fn run(global: &GlobalArgs, args: &KubeInjectArgs) -> Result<Exit> {
    let Some(filename) = args.filename.as_deref() else {
        return Err(CommandError::failure("filename not specified (see --filename or -f)").into());
    };
    // "default" is the unrevisioned control plane, as istioctl reads it.
    let revision = args
        .revision
        .as_deref()
        .filter(|r| !r.is_empty() && *r != "default");

    let mut texts = Texts::default();
    if let Some(file) = &args.operator_file_name {
        texts = from_operator(file, revision)?;
    }
    if texts.mesh.is_none()
        && let Some(f) = &args.mesh_config_file
    {
        texts.mesh = Some((read_file(f)?, format!("--meshConfigFile {f}")));
    }
    if texts.config.is_none()
        && let Some(f) = &args.inject_config_file
    {
        texts.config = Some((read_file(f)?, format!("--injectConfigFile {f}")));
    }
    if texts.values.is_none()
        && let Some(f) = &args.values_file
    {
        texts.values = Some((read_file(f)?, format!("--valuesFile {f}")));
    }
    if texts.config.is_none() {
        from_cluster(global, args, revision, &mut texts)?;
    }

    let (config_text, config_from) = texts
        .config
        .context("no injection config: pass --injectConfigFile")?;
    let config = InjectorConfig::parse(&config_text).with_context(|| config_from.clone())?;
    let mut values = match &texts.values {
        Some((text, from)) => Values::parse(text).with_context(|| from.clone())?,
        None => Values::default(),
    };
    if let Some(r) = revision {
        values.revision = r.to_string();
    }
    let mesh = match &texts.mesh {
        Some((text, from)) => MeshSettings::parse(text).with_context(|| from.clone())?,
        None => MeshSettings::default(),
    };
    let injector = Injector {
        config,
        values,
        mesh,
    };

    let input = if filename == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        s
    } else {
        read_file(filename)?
    };
    let shown = if filename == "-" { "<stdin>" } else { filename };
    let injected = inject_stream(&input, &injector).with_context(|| shown.to_string())?;
    if !injected.warnings.is_empty() {
        // istioctl separates its warnings from other output with an empty line.
        eprintln!();
        for w in &injected.warnings {
            eprintln!("{w}");
        }
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, &injected.text).with_context(|| format!("writing {path}"))?
        }
        None => write_stdout(&injected.text)?,
    }
    Ok(Exit::Success)
}

/// The injector and mesh ConfigMaps an IstioOperator renders to, as `manifest generate` would.
fn from_operator(file: &str, revision: Option<&str>) -> Result<Texts> {
    let input = ResolveInput {
        files: OverlayFile::read_all(&[file.to_string()])?,
        sets: Vec::new(),
        revision: revision.map(str::to_string),
        force: false,
    };
    let resolved = resolve(&input).with_context(|| format!("--operatorFileName {file}"))?;
    let objects =
        render::render(&resolved.iop).with_context(|| format!("--operatorFileName {file}"))?;
    // The revision may come from the file's own `spec.revision`.
    let revisioned = |base: &str| match &resolved.revision {
        Some(r) => format!("{base}-{}", r.as_str()),
        None => base.to_string(),
    };
    let data = |base: &str, key: &str| -> Option<String> {
        let want = revisioned(base);
        objects
            .iter()
            .find(|r: &&Rendered| {
                let (kind, _, name) = r.identity();
                kind == "ConfigMap" && name == want
            })
            .and_then(|r| r.object.pointer(&format!("/data/{key}")))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let from = format!("--operatorFileName {file}");
    let config = data(DEFAULT_INJECT_CONFIGMAP, "config").with_context(|| {
        format!("--operatorFileName {file}: it renders no istio-sidecar-injector ConfigMap (is the control plane disabled?)")
    })?;
    Ok(Texts {
        config: Some((config, from.clone())),
        values: data(DEFAULT_INJECT_CONFIGMAP, "values").map(|v| (v, from.clone())),
        mesh: data(DEFAULT_MESH_CONFIGMAP, "mesh").map(|m| (m, from)),
    })
}

/// What the files did not give, from the revision's ConfigMaps in the Istio namespace.
fn from_cluster(
    global: &GlobalArgs,
    args: &KubeInjectArgs,
    revision: Option<&str>,
    texts: &mut Texts,
) -> Result<()> {
    let revisioned = |name: &str, default: &str| match revision {
        Some(r) if name == default => format!("{name}-{r}"),
        _ => name.to_string(),
    };
    let inject_name = revisioned(&args.inject_config_map_name, DEFAULT_INJECT_CONFIGMAP);
    let mesh_name = revisioned(&args.mesh_config_map_name, DEFAULT_MESH_CONFIGMAP);
    let namespace = global.istio_namespace.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = client(
            global.kubeconfig.as_deref().map(Path::new),
            global.context.as_deref(),
        )
        .await
        .context("connecting to the cluster (or pass --injectConfigFile to inject offline)")?;
        let api: Api<ConfigMap> = Api::namespaced(client, &namespace);
        let injector = api.get(&inject_name).await.map_err(|e| {
            CommandError::failure(format!(
                "could not find valid configmap {inject_name:?} from namespace {namespace:?}: {e} - \
                 Use --injectConfigFile or re-run kube-inject with `-i <istioSystemNamespace>` and \
                 ensure istio-sidecar-injector configmap exists"
            ))
        })?;
        let key = |cm: &ConfigMap, key: &str| cm.data.as_ref().and_then(|d| d.get(key)).cloned();
        let from = format!("configmap {namespace}/{inject_name}");
        let config = key(&injector, "config").ok_or_else(|| {
            CommandError::failure(format!(
                "missing configuration map key \"config\" in {inject_name:?}"
            ))
        })?;
        texts.config = Some((config, from.clone()));
        if texts.values.is_none() {
            let values = key(&injector, "values").ok_or_else(|| {
                CommandError::failure(format!(
                    "missing configuration map key \"values\" in {inject_name:?}"
                ))
            })?;
            texts.values = Some((values, from));
        }
        if texts.mesh.is_none() {
            let mesh = api.get(&mesh_name).await.map_err(|e| {
                CommandError::failure(format!(
                    "could not read valid configmap {mesh_name:?} from namespace {namespace:?}: {e} - \
                     Use --meshConfigFile or re-run kube-inject with `-i <istioSystemNamespace> and \
                     ensure valid MeshConfig exists"
                ))
            })?;
            let text = key(&mesh, "mesh").ok_or_else(|| {
                CommandError::failure("missing configuration map key \"mesh\"".to_string())
            })?;
            texts.mesh = Some((text, format!("configmap {namespace}/{mesh_name}")));
        }
        Ok::<_, anyhow::Error>(())
    })
}
