//! `ferryctl analyze`: flags as istioctl's, plus `-o sarif`; the pipeline from inputs to findings
//! to exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::Args;
use clap::builder::TypedValueParser as _;

use crate::analyze::mesh::MeshConfig;
use crate::analyze::message::Level;
use crate::analyze::suppress::{Suppression, suppressed_by_annotation};
use crate::analyze::{self, output};
use crate::cli::GlobalArgs;
use crate::cli::output::{default_color, write_stdout, write_stdout_unless_closed};
use crate::config::resource::Spec;
use crate::config::source::{self, Input, LoadOptions};
use crate::config::store::Store;
use crate::config::yaml::Limits;
use crate::exit::{CommandError, Exit};

mod live;

#[derive(Debug, Args)]
#[command(
    about = "Analyze Istio configuration and print validation messages",
    after_help = "Examples:\n  # Analyze the files of a GitOps repository, without a cluster\n  ferryctl analyze --use-kube=false -A deploy/\n\n  # Analyze a single file, from stdin\n  cat reviews.yaml | ferryctl analyze --use-kube=false -\n\n  # Fail a pipeline on warnings too, and emit SARIF for code scanning\n  ferryctl analyze --use-kube=false --failure-threshold Warning -o sarif manifests/ > analyze.sarif\n\n  # Suppress a code for matching resources\n  ferryctl analyze --use-kube=false -S \"IST0102=Namespace frod\" ns.yaml\n\n  # List available analyzers\n  ferryctl analyze -L"
)]
pub struct AnalyzeArgs {
    /// Files, directories (read recursively: .yaml .yml .json) or '-' for stdin
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Use live Kubernetes cluster for analysis. Set --use-kube=false to analyze files only.
    #[arg(short = 'k', long = "use-kube", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub use_kube: bool,
    /// Analyze all namespaces
    #[arg(short = 'A', long = "all-namespaces")]
    pub all_namespaces: bool,
    /// Output format: one of log|json|yaml|sarif
    #[arg(short, long, default_value = "log", ignore_case = true,
          value_parser = clap::builder::PossibleValuesParser::new(["log", "json", "yaml", "sarif"])
              .map(|s| s.to_ascii_lowercase()))]
    pub output: String,
    /// The severity level of analysis at which to set a non-zero exit code. Valid values: [Info Warning Error]
    #[arg(long = "failure-threshold", default_value = "Error", value_parser = parse_level)]
    pub failure_threshold: Level,
    /// The severity level of analysis at which to display messages. Valid values: [Info Warning Error]
    #[arg(long = "output-threshold", default_value = "Info", value_parser = parse_level)]
    pub output_threshold: Level,
    /// Suppress reporting a message code on a resource: "<code>=<resource glob>", e.g. "IST0102=Namespace frod" (repeatable)
    #[arg(short = 'S', long = "suppress", value_name = "CODE=GLOB")]
    pub suppress: Vec<String>,
    /// Overrides the mesh config values to use for analysis
    #[arg(long = "meshConfigFile", value_name = "FILE")]
    pub mesh_config_file: Option<PathBuf>,
    /// List the analyzers available to run. Suppresses normal execution.
    #[arg(short = 'L', long = "list-analyzers")]
    pub list_analyzers: bool,
    /// Select specific analyzers to run, e.g. "gateway.SecretAnalyzer" (repeatable); unknown names select all
    #[arg(long = "analyzer", value_name = "NAME")]
    pub analyzer: Vec<String>,
    /// Enable verbose output
    #[arg(short, long)]
    pub verbose: bool,
    /// Default true. Disable with '=false' or set $TERM to dumb (NO_COLOR also disables it)
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub color: Option<bool>,
    /// The duration to wait before failing
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Don't output files that could not be parsed, and don't fail because of them
    #[arg(long = "ignore-unknown")]
    pub ignore_unknown: bool,
    /// Skip these namespaces (comma-separated, repeatable)
    #[arg(
        long = "exclude-namespaces",
        value_name = "NS",
        value_delimiter = ',',
        default_value = "kube-node-lease,kube-public,kube-system,local-path-storage"
    )]
    pub exclude_namespaces: Vec<String>,
    /// Analyze with the mesh config of this control plane revision (ConfigMap istio-<rev>)
    #[arg(short = 'r', long, default_value = "default")]
    pub revision: String,
    /// [Removed: the recursive flag has been removed and is hardcoded to true] Process directory arguments recursively.
    #[arg(short = 'R', long, hide = true)]
    pub recursive: bool,
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s)
        .ok_or_else(|| format!("invalid level {s:?}; valid values: [Info Warning Error]"))
}

/// Go-style durations: `30s`, `1m`, `1m30s`, `500ms`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}; use a number with a unit, e.g. 30s, 1m, 500ms");
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_end] {
            "ns" => value / 1e9,
            "us" | "µs" => value / 1e6,
            "ms" => value / 1e3,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(bad()),
        };
        total = Duration::try_from_secs_f64(secs)
            .ok()
            .and_then(|d| total.checked_add(d))
            .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
        rest = &rest[unit_end..];
    }
    Ok(total)
}

/// Where to find a kubeconfig, as kubectl looks.
fn kubeconfig_path(global: &GlobalArgs) -> Option<PathBuf> {
    if let Some(p) = &global.kubeconfig {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("KUBECONFIG").filter(|p| !p.is_empty()) {
        return std::env::split_paths(&p).next();
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// Without a kubeconfig (and outside a cluster) there is nothing to connect to: say where we
/// looked and how to analyze files alone, rather than a connection error.
fn missing_kubeconfig(global: &GlobalArgs) -> Option<CommandError> {
    let found = kubeconfig_path(global).is_some_and(|p| p.exists());
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    (!found && !in_cluster).then(|| CommandError {
        exit: Exit::Failure,
        message: "analyze needs a Kubernetes cluster unless --use-kube=false is given, and no \
                  kubeconfig was found (looked at --kubeconfig, $KUBECONFIG and ~/.kube/config); \
                  to analyze files only, run: ferryctl analyze --use-kube=false <files>"
            .to_string(),
    })
}

pub fn run(global: &GlobalArgs, args: &AnalyzeArgs) -> Result<Exit> {
    if args.list_analyzers {
        let mut all: Vec<(&str, &str)> = analyze::analyzers::all()
            .iter()
            .map(|a| (a.name, a.description))
            .collect();
        all.sort();
        let text: String = all
            .iter()
            .map(|(n, d)| format!("* {n}:\n    {d}\n"))
            .collect();
        write_stdout(&text)?;
        return Ok(Exit::Success);
    }
    if args.recursive {
        // istioctl keeps the removed flag so old scripts get an explanation, not a usage error.
        eprintln!(
            "The recursive flag has been removed and is hardcoded to true without explicitly specifying it."
        );
        return Ok(Exit::Success);
    }
    let cluster = if args.use_kube {
        if let Some(e) = missing_kubeconfig(global) {
            return Err(e.into());
        }
        Some(live::Cluster::connect(global)?)
    } else {
        None
    };
    let started = Instant::now();
    let color = args.color.unwrap_or_else(default_color);

    let mut suppressions = Vec::new();
    for s in &args.suppress {
        // A bad value is a run-time error in istioctl (exit 1), not a flag-parse error.
        let s = Suppression::parse(s).map_err(|e| CommandError {
            exit: Exit::Failure,
            message: e.to_string(),
        })?;
        if !s.known_code() {
            eprintln!(
                "Warning: Supplied message code '{}' is an unknown message code and will not have any effect.",
                s.code
            );
        }
        suppressions.push(s);
    }

    let mut mesh = match &args.mesh_config_file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --meshConfigFile {}", path.display()))?;
            Some(
                MeshConfig::parse(&text)
                    .with_context(|| format!("in --meshConfigFile {}", path.display()))?,
            )
        }
    };

    // As kubectl: -n, else the kubeconfig context's namespace when a cluster is used.
    let namespace = global.namespace.clone().unwrap_or_else(|| {
        cluster
            .as_ref()
            .map_or("default", |c| c.default_namespace())
            .to_string()
    });
    if let Some(c) = &cluster
        && global.namespace.is_some()
        && !args.all_namespaces
        && !c.namespace_exists(&namespace, args.timeout)?
    {
        // istioctl: a message, not an error (exit 0).
        eprintln!("namespace {namespace:?} not found");
        return Ok(Exit::Success);
    }
    if args.files.iter().any(|f| f == "-")
        && std::io::stdin().is_terminal()
        && !matches!(args.output.as_str(), "json" | "yaml")
    {
        eprintln!("Reading from stdin:");
    }
    let inputs: Vec<Input> = args
        .files
        .iter()
        .map(|f| {
            if f == "-" {
                Input::Stdin
            } else {
                Input::Path(PathBuf::from(f))
            }
        })
        .collect();
    let mut ignored = Vec::new();
    let expanded = source::expand_inputs(&inputs, &mut ignored);
    for f in &ignored {
        eprintln!(
            "Skipping file {f}, recognized file extensions are: [{}]",
            source::EXTENSIONS
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let loaded = source::load(
        &expanded,
        &LoadOptions {
            default_namespace: (!args.all_namespaces).then(|| namespace.clone()),
            limits: Limits::default(),
            excluded_namespaces: args.exclude_namespaces.clone(),
        },
    );
    if started.elapsed() > args.timeout {
        return Err(anyhow::anyhow!(
            "timed out after {:?} reading inputs; raise --timeout",
            args.timeout
        ));
    }
    let parse_failed = !loaded.errors.is_empty();
    let unparsed = if args.ignore_unknown {
        0
    } else {
        let mut files: Vec<&str> = loaded.errors.iter().map(|e| e.file()).collect();
        files.sort_unstable();
        files.dedup();
        files.len()
    };
    if parse_failed && !args.ignore_unknown {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "Error(s) adding files:");
        for e in &loaded.errors {
            let _ = writeln!(err, "  {e}");
        }
    }
    let files_read = loaded.files.clone();
    let skipped_objects = loaded.skipped.clone();
    let mut listed = Default::default();
    let mut unreadable = Default::default();
    let mut cluster_objects = None;
    let mut store = match &cluster {
        None => Store::new(loaded.resources),
        Some(c) => {
            let live = c.read(
                loaded.resources,
                &live::Request {
                    scope: analyze::live::Scope {
                        istio_namespace: global.istio_namespace.clone(),
                        revision: args.revision.clone(),
                    },
                    analyzers: &args.analyzer,
                    excluded_namespaces: &args.exclude_namespaces,
                    timeout: args.timeout.saturating_sub(started.elapsed()),
                },
            )?;
            for e in &live.errors {
                eprintln!("Warning: skipping an object of the cluster: {e}");
            }
            listed = live.listed;
            unreadable = live.unreadable;
            cluster_objects = Some(live.objects);
            live.store
        }
    };

    // The mesh config: the flag wins, else the revision's `istio[-<rev>]` ConfigMap in the inputs.
    if mesh.is_none() {
        let cm_name = crate::analyze::mesh::configmap_name(&args.revision);
        let cm = store.get(
            crate::config::kind::Kind::ConfigMap,
            &global.istio_namespace,
            &cm_name,
        );
        if let Some(Spec::ConfigMap(data)) = cm.map(|r| &r.spec)
            && let Some(text) = data.get("mesh")
        {
            match MeshConfig::parse(text) {
                Ok(m) => mesh = Some(m),
                Err(e) => eprintln!("Warning: ignoring mesh config in ConfigMap {cm_name}: {e}"),
            }
        }
    }

    let analyzed = store.len();
    let outcome = analyze::run(
        &mut store,
        &analyze::Options {
            only: args.analyzer.clone(),
            mesh: mesh.unwrap_or_default(),
            listed,
            unreadable,
        },
    );
    // The process ends right after printing: freeing every parsed node one by one would cost
    // about a tenth of a large run and grows worse than linearly as the heap fragments.
    std::mem::forget(store);

    let mut messages = outcome.messages;
    messages.retain(|m| {
        if suppressed_by_annotation(m) || suppressions.iter().any(|s| s.matches(m)) {
            return false;
        }
        // Outside the selected namespace only with -A (cluster-scoped ones always).
        match &m.origin {
            Some(o) if !args.all_namespaces && !o.cluster_scoped => {
                o.namespace.as_deref().is_none_or(|ns| ns == namespace)
            }
            _ => true,
        }
    });
    output::sort_dedup(&mut messages);
    let failing = messages
        .iter()
        .any(|m| m.typ.level.at_least(args.failure_threshold));
    messages.retain(|m| m.typ.level.at_least(args.output_threshold));

    let target = if args.all_namespaces {
        "all namespaces".to_string()
    } else {
        format!("namespace: {namespace}")
    };
    if args.verbose {
        let mut err = std::io::stderr().lock();
        let from_cluster = cluster_objects
            .map(|n| format!(" ({n} from the cluster)"))
            .unwrap_or_default();
        let _ = writeln!(
            err,
            "Analyzed {} resources{from_cluster} in {} from {} files in {:.3}s",
            analyzed,
            target,
            files_read.len(),
            started.elapsed().as_secs_f64()
        );
        if !skipped_objects.is_empty() {
            let _ = writeln!(err, "Skipped objects of kinds Ferry does not analyze:");
            for s in &skipped_objects {
                let _ = writeln!(
                    err,
                    "  {} {} ({}) {}",
                    s.kind, s.name, s.api_version, s.origin
                );
            }
        }
        let _ = writeln!(err, "Skipped analyzers:");
        for s in &outcome.skipped {
            let _ = writeln!(
                err,
                "  {} (no {} in the inputs)",
                s.name,
                s.missing.join(", ")
            );
        }
        let _ = writeln!(err, "Executed analyzers:");
        for a in &outcome.executed {
            let _ = writeln!(err, "  {a}");
        }
    }

    let text = match args.output.as_str() {
        "json" => output::json(&messages),
        "yaml" => output::yaml(&messages),
        "sarif" => output::sarif(&messages),
        _ => output::log(&messages, color),
    };
    // A reader that stops early (`| head`) must not turn found issues into success: the exit
    // code below still applies.
    write_stdout_unless_closed(&text)?;

    // On stderr in every format, so json/yaml/sarif on stdout stay parseable.
    for n in &outcome.not_analyzed {
        eprintln!("not analyzed: {} ({})", n.name, n.reason);
    }
    let partly = match outcome.not_analyzed.len() {
        0 => String::new(),
        1 => " (but 1 analyzer could not run, see above)".to_string(),
        n => format!(" (but {n} analyzers could not run, see above)"),
    };
    if messages.is_empty() {
        if unparsed > 0 {
            eprintln!(
                "No validation issues found when analyzing {target} (but {unparsed} file{} could not be parsed).",
                if unparsed == 1 { "" } else { "s" }
            );
        } else {
            // As istioctl: name the files whenever files were given, else the namespace scope.
            match files_read.as_slice() {
                [] => eprintln!(
                    "\u{2714} No validation issues found when analyzing {target}{partly}."
                ),
                [one] => eprintln!("\u{2714} No validation issues found when analyzing {one}."),
                many => {
                    let list: String = many.iter().map(|f| format!("\n  - {f}")).collect();
                    eprintln!("\u{2714} No validation issues found when analyzing:{list}");
                }
            }
        }
    }

    if failing {
        return Err(CommandError {
            exit: Exit::IssuesFound,
            message: format!(
                "Analyzers found issues when analyzing {target}.\nSee https://istio.io/{}/docs/reference/config/analysis for more information about causes and resolutions.",
                output::DOCS_VERSION
            ),
        }
        .into());
    }
    if parse_failed && !args.ignore_unknown {
        return Err(CommandError {
            exit: Exit::Data,
            message: "Some files couldn't be parsed.".to_string(),
        }
        .into());
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("abc").is_err());
    }
}
