//! `ferryctl manifest`: commands related to install manifests, as istioctl's `manifest` group.
//! `generate` resolves the IstioOperator (`install::resolve`), renders it (`install::render`,
//! CRDs first) and prints or writes it; `diff` compares manifests (`install::diff`). This layer
//! only reads files and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use crate::cli::output::write_stdout;
use crate::cli::profile::ManifestsArg;
use crate::exit::{CommandError, Exit};
use crate::install::diff::{self, DiffError, DiffOptions};
use crate::install::overlay::OverlayFile;
use crate::install::render::{self, Component, Rendered};
use crate::install::resolve::{ResolveInput, resolve};
use crate::install::{crds, output};

#[derive(Debug, Args)]
#[command(
    about = "Commands related to Istio manifests",
    long_about = "The manifest command generates and diffs Istio manifests."
)]
pub struct ManifestArgs {
    #[command(subcommand)]
    pub command: ManifestCommand,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Generates an Istio install manifest
    // The long help is given here: on the variant, the doc comment would replace one given on
    // the Args struct.
    #[command(
        long_about = "The generate subcommand generates an Istio install manifest and outputs to the console by \
                      default.\n\
                      The manifest is rendered offline from the built-in profiles, -f files and --set flags: \
                      every object of the install, CRDs first, in apply order."
    )]
    Generate(GenerateArgs),
    /// Compare manifests and generate diff
    #[command(
        long_about = "The diff subcommand compares manifests from two files or directories. The output is a \
                      list of changed paths with the value changes shown as OLD-VALUE -> NEW-VALUE.\n\
                      Objects are identified by Kind:namespace:name; an object present on one side only is \
                      reported as missing in the other. Exits 1 when the manifests differ."
    )]
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  # Generate a default Istio installation\n  ferryctl manifest generate\n\n  # Enable Tracing\n  ferryctl manifest generate --set meshConfig.enableTracing=true\n\n  # Generate the demo profile\n  ferryctl manifest generate --set profile=demo\n\n  # A canary revision, written one file per component\n  ferryctl manifest generate -r canary -o out/"
)]
pub struct GenerateArgs {
    /// Path to file containing IstioOperator custom resource. This flag can be specified multiple
    /// times to overlay multiple files. Multiple files are overlaid in left to right order; - reads
    /// standard input
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub filenames: Vec<String>,
    /// Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or
    /// disable components (--set components.egressGateways[0].enabled=true), or override Istio
    /// settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its
    /// README
    #[arg(short = 's', long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Target control plane revision for the command (a DNS-1123 label; default means none)
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    /// Manifest output directory path: one file per component instead of standard output
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Proceed even with validation errors: unknown fields and bad values are dropped with a
    /// warning
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub manifests: ManifestsArg,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  # Compare two generated manifests\n  ferryctl manifest diff before.yaml after.yaml\n\n  # Compare only the Deployments of istio-system, ignoring their images\n  ferryctl manifest diff --select 'Deployment:istio-system:*' \\\n    --ignore 'Deployment:*:*:spec.template.spec.containers[*].image' before.yaml after.yaml\n\n  # Compare two 'manifest generate -o' directories\n  ferryctl manifest diff -r before/ after/"
)]
pub struct DiffArgs {
    /// The first manifest (A): a file, or a directory with --directory
    #[arg(value_name = "FILE|DIR")]
    pub a: PathBuf,
    /// The second manifest (B)
    #[arg(value_name = "FILE|DIR")]
    pub b: PathBuf,
    /// Compare directory.
    #[arg(short = 'r', long = "directory")]
    pub directory: bool,
    /// Verbose output.
    #[arg(short, long)]
    pub verbose: bool,
    /// Constrain the list of resources to compare to only the ones in this list, ignoring all
    /// others. Comma-separated "Kind:namespace:name" items where "*" (or an empty part) matches
    /// anything, e.g. "Deployment:istio-system:*" (all Deployments in istio-system) or
    /// "Service:*:istiod" (Services called istiod in all namespaces)
    #[arg(long, default_value = "::")]
    pub select: String,
    /// Ignore all listed items during comparison, using the same list format as --select; a
    /// fourth part ignores a field path inside the matching objects, e.g.
    /// "Deployment:*:*:metadata.labels*"
    #[arg(long, default_value = "", hide_default_value = true)]
    pub ignore: String,
    /// Rename resources of A before comparison: comma-separated A->B pairs, e.g.
    /// "Service:*:istiod->Service:*:istio-control" (rename the istiod Service to istio-control)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub rename: String,
}

pub fn run(args: &ManifestArgs) -> Result<Exit> {
    match &args.command {
        ManifestCommand::Generate(g) => run_generate(g),
        ManifestCommand::Diff(d) => run_diff(d),
    }
}

fn run_generate(args: &GenerateArgs) -> Result<Exit> {
    args.manifests.refuse()?;
    let input = ResolveInput {
        files: OverlayFile::read_all(&args.filenames)?,
        sets: args.set.clone(),
        revision: args.revision.clone(),
        force: args.force,
    };
    let resolved = resolve(&input)?;
    for w in &resolved.warnings {
        eprintln!("Warning: {w}");
    }
    // Settings that cannot be rendered (an HPA whose maximum is 0, a gateway defined twice) are
    // errors of the run, exit 1, as istioctl's.
    let rendered = render::render(&resolved.iop)?;
    let mut objects: Vec<Rendered> = if rendered.iter().any(|r| r.component == Component::Base) {
        crds::crds()
            .into_iter()
            .map(|object| Rendered {
                component: Component::Base,
                object,
            })
            .collect()
    } else {
        Vec::new()
    };
    objects.extend(rendered);
    match &args.output {
        None => write_stdout(&output::to_yaml(&objects))?,
        Some(dir) => write_components(dir, &objects)?,
    }
    Ok(Exit::Success)
}

/// Writes one file per rendered component under `dir`, then removes the component files (and
/// their temporary files) of the layout that this render does not produce, and the layout's
/// directories left empty, so the directory holds exactly this render. Nothing outside the layout
/// is touched, nor a layout directory holding anything else. Each file is written to a temporary
/// name and renamed, so an interrupted run never leaves a half-written manifest behind.
fn write_components(dir: &Path, objects: &[Rendered]) -> Result<()> {
    let files = output::component_files(objects);
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating directory {}", parent.display()))?;
        }
        let tmp = temp_path(&path);
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    }
    let (owned_files, owned_dirs) = output::owned_paths();
    for rel in owned_files {
        if files.iter().any(|(written, _)| *written == rel) {
            continue;
        }
        let path = dir.join(&rel);
        for stale in [temp_path(&path), path] {
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("removing {}", stale.display()));
                }
            }
        }
    }
    for rel in owned_dirs {
        // Fails, and is left, when it holds anything (a file of this render or the user's).
        let _ = std::fs::remove_dir(dir.join(rel));
    }
    Ok(())
}

/// Where a component file is written before it is renamed into place.
fn temp_path(path: &Path) -> PathBuf {
    path.with_extension("yaml.tmp")
}

fn run_diff(args: &DiffArgs) -> Result<Exit> {
    let opts = DiffOptions::new(args.verbose, &args.select, &args.ignore, &args.rename)
        .map_err(|e| CommandError::usage(e.to_string()))?;
    let a = read_manifest(&args.a, args.directory)?;
    let b = read_manifest(&args.b, args.directory)?;
    let d = diff::diff(&a, &b, &opts);
    if d.is_empty() {
        write_stdout("Manifests are identical\n")?;
        return Ok(Exit::Success);
    }
    write_stdout(&format!("Differences in manifests are:\n{}\n", d.render()))?;
    Ok(Exit::Failure)
}

/// The objects of a manifest file, or of every `.yaml` file under a directory (sorted by path,
/// so the result does not depend on the file system's order).
fn read_manifest(path: &Path, directory: bool) -> Result<Vec<serde_json::Value>> {
    let files = if directory {
        let mut files = Vec::new();
        collect_yaml(path, &mut files)
            .with_context(|| format!("could not read directory {}", path.display()))?;
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut objects = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .with_context(|| format!("could not read {:?}", f.display().to_string()))?;
        let parsed = diff::parse_objects(&text).map_err(|e| data_error(&f, &e))?;
        objects.extend(parsed);
    }
    Ok(objects)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// A manifest that does not parse is bad input (exit 65), distinct from "differs" (exit 1).
fn data_error(path: &Path, err: &DiffError) -> anyhow::Error {
    CommandError {
        exit: Exit::Data,
        message: format!("{}: {err}", path.display()),
    }
    .into()
}
