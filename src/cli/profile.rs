//! `ferryctl profile list|dump|diff`: istioctl's profile commands (removed from istioctl in 1.24;
//! these follow 1.23), over Ferry's built-in profiles and the same settings resolution that
//! `install` and `manifest generate` use.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;

use crate::cli::output::{default_color, unified_diff, write_stdout, write_stdout_unless_closed};
use crate::config::emit;
use crate::exit::{CommandError, Exit};
use crate::install::overlay::OverlayFile;
use crate::install::profile;
use crate::install::resolve::{ResolveInput, resolve};
use crate::install::schema;
use crate::install::set::{Path, Segment, escape_key, selects};

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub command: ProfileCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Lists available Istio configuration profiles
    #[command(long_about = "The list subcommand lists the available Istio configuration profiles.")]
    List(ListArgs),
    /// Dumps an Istio configuration profile
    #[command(
        long_about = "The dump subcommand dumps the values in an Istio configuration profile.",
        after_help = "Examples:\n  \
            # The demo profile as ferryctl would install it\n  \
            ferryctl profile dump demo\n\n  \
            # Only the control plane's component settings\n  \
            ferryctl profile dump -p components.pilot\n\n  \
            # Your overlay on its profile, as --set flags\n  \
            ferryctl profile dump -f my-overlay.yaml -o flags"
    )]
    Dump(DumpArgs),
    /// Diffs two Istio configuration profiles
    #[command(
        long_about = "The diff subcommand displays the differences between two Istio configuration \
                      profiles. Each side is a profile name or an IstioOperator file, compared as \
                      `profile dump` prints it (the file applied to the profile it names). Exits 1 \
                      when they differ.",
        after_help = "Examples:\n  \
            # Profile diff by providing yaml files\n  \
            ferryctl profile diff my-overlay.yaml other-overlay.yaml\n\n  \
            # Profile diff by providing a profile name\n  \
            ferryctl profile diff default demo"
    )]
    Diff(DiffArgs),
}

/// istioctl's `-d/--manifests` (alias `--charts`): accepted so its users get a reason, not an
/// unknown-flag error.
#[derive(Debug, Args)]
pub struct ManifestsArg {
    /// Not supported: Ferry's profiles and manifests are built into ferryctl
    #[arg(
        short = 'd',
        long = "manifests",
        alias = "charts",
        value_name = "PATH",
        hide = true
    )]
    pub manifests: Option<String>,
}

impl ManifestsArg {
    /// Refuses `-d/--manifests` with the reason.
    pub fn refuse(&self) -> Result<(), CommandError> {
        match &self.manifests {
            None => Ok(()),
            Some(_) => Err(CommandError::usage(
                "--manifests is not supported: Ferry's profiles and manifests are built into \
                 ferryctl, so there is no install package to point at",
            )),
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: one of json|yaml (default: istioctl's list)
    #[arg(short, long, value_parser = ["json", "yaml"])]
    pub output: Option<String>,
    #[command(flatten)]
    pub manifests: ManifestsArg,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The profile to dump (default: the one the -f files name, else default)
    #[arg(value_name = "PROFILE")]
    pub profile: Option<String>,
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
    /// The path the root of the configuration subtree to dump e.g. components.pilot. By default,
    /// dump whole tree
    #[arg(short = 'p', long = "config-path", value_name = "PATH")]
    pub config_path: Option<String>,
    /// Output format: one of json|yaml|flags
    #[arg(short, long, default_value = "yaml", value_parser = ["json", "yaml", "flags"])]
    pub output: String,
    /// Proceed even with validation errors: unknown fields and bad values are dropped with a
    /// warning
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub manifests: ManifestsArg,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// A profile name or an IstioOperator file
    #[arg(value_name = "PROFILE|FILE")]
    pub first: String,
    /// A profile name or an IstioOperator file
    #[arg(value_name = "PROFILE|FILE")]
    pub second: String,
    #[command(flatten)]
    pub manifests: ManifestsArg,
}

pub fn run(args: &ProfileArgs) -> Result<Exit> {
    match &args.command {
        ProfileCommand::List(a) => list(a),
        ProfileCommand::Dump(a) => dump(a),
        ProfileCommand::Diff(a) => diff(a),
    }
}

fn list(args: &ListArgs) -> Result<Exit> {
    args.manifests.refuse()?;
    let names: Vec<&str> = profile::names().collect();
    let text = match args.output.as_deref() {
        Some("json") => json_text(&names)?,
        Some("yaml") => emit::to_string(&serde_json::to_value(&names)?),
        _ => {
            let mut out = String::from("Istio configuration profiles:\n");
            for n in &names {
                out.push_str(&format!("    {n}\n"));
            }
            out
        }
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}

fn dump(args: &DumpArgs) -> Result<Exit> {
    args.manifests.refuse()?;
    if args.profile.is_some() && !args.filenames.is_empty() {
        return Err(CommandError::usage(
            "cannot specify both profile name and filename flag; to apply files to a profile, use \
             --set profile=NAME",
        )
        .into());
    }
    let mut sets: Vec<String> = args
        .profile
        .iter()
        .map(|p| format!("profile={p}"))
        .collect();
    sets.extend(args.set.iter().cloned());
    let input = ResolveInput {
        files: OverlayFile::read_all(&args.filenames)?,
        sets,
        revision: None,
        force: args.force,
    };
    let resolved = resolve(&input)?;
    for w in &resolved.warnings {
        eprintln!("Warning: {w}");
    }
    let doc = sorted(serde_json::to_value(&resolved.iop)?);
    let (value, base) = match args.config_path.as_deref().filter(|p| !p.is_empty()) {
        None => (doc, None),
        Some(p) => {
            let path = config_path(p)?;
            (subtree(&doc, &path)?.clone(), Some(path))
        }
    };
    let text = match args.output.as_str() {
        "json" => json_text(&value)?,
        "flags" => {
            let root = match &base {
                Some(_) => &value,
                None => value.get("spec").unwrap_or(&Value::Null),
            };
            let mut lines = Vec::new();
            let prefix = base.as_ref().map(ToString::to_string).unwrap_or_default();
            flag_lines(root, prefix, &mut lines);
            lines.sort();
            lines.iter().map(|l| format!("{l}\n")).collect()
        }
        _ => emit::to_string(&value),
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}

fn diff(args: &DiffArgs) -> Result<Exit> {
    args.manifests.refuse()?;
    let first = effective_yaml(&args.first)?;
    let second = effective_yaml(&args.second)?;
    if first == second {
        write_stdout("Profiles are identical\n")?;
        return Ok(Exit::Success);
    }
    let text = format!(
        "The difference between profiles:\n{}",
        unified_diff(&first, &second, &args.first, &args.second, default_color())
    );
    // Exit 1 says "they differ" even to a reader that stopped early.
    write_stdout_unless_closed(&text)?;
    Ok(Exit::Failure)
}

/// A profile name or file as `profile dump` prints it.
fn effective_yaml(profile_or_file: &str) -> Result<String> {
    let input = if profile::is_file_path(profile_or_file) {
        ResolveInput {
            files: vec![OverlayFile::read(profile_or_file)?],
            ..ResolveInput::default()
        }
    } else {
        ResolveInput {
            sets: vec![format!("profile={profile_or_file}")],
            ..ResolveInput::default()
        }
    };
    let resolved = resolve(&input)?;
    Ok(emit::to_string(&sorted(serde_json::to_value(
        &resolved.iop,
    )?)))
}

/// `-p`: a path in the `--set` grammar, relative to `spec` (a leading `spec.` is accepted).
fn config_path(text: &str) -> Result<Path, CommandError> {
    let path = Path::parse(text).map_err(|e| {
        CommandError::usage(format!(
            "invalid --config-path {text:?}: {} (at character {})",
            e.message,
            text.get(..e.offset).unwrap_or(text).chars().count() + 1
        ))
    })?;
    Ok(path.strip_spec().unwrap_or(path))
}

/// The subtree of a dumped IstioOperator at `path` (relative to `spec`).
fn subtree<'a>(doc: &'a Value, path: &Path) -> Result<&'a Value> {
    let mut node = doc.get("spec").unwrap_or(&Value::Null);
    for seg in path.segments() {
        let next = match (seg, node) {
            (Segment::Key(k), Value::Object(m)) => m.get(k),
            (Segment::Index(i), Value::Array(a)) => a.get(*i),
            (Segment::Select { key, value }, Value::Array(a)) => {
                a.iter().find(|item| selects(item, key, value))
            }
            _ => None,
        };
        node = match next {
            Some(n) => n,
            None => return Err(missing_path(path).into()),
        };
    }
    Ok(node)
}

/// Why `-p` found nothing: not a field at all (with the closest one), or not set.
fn missing_path(path: &Path) -> CommandError {
    let mut absolute = Path::new(vec![Segment::Key("spec".into())]);
    for s in path.segments() {
        absolute.push(s.clone());
    }
    let message = match schema::istio_operator().check_path(&absolute) {
        Err((_, finding)) => format!("--config-path {path}: {finding}"),
        Ok(_) => format!("--config-path {path}: not set in this configuration"),
    };
    CommandError {
        exit: Exit::Failure,
        message,
    }
}

/// A value as istioctl prints it: object keys sorted at every depth (Go maps), and whole floats
/// without a fraction (`traceSampling: 100`, Go's float formatting).
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            // Exactly representable: |f| < 2^53 keeps the conversion lossless.
            Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        other => other,
    }
}

/// JSON indented four spaces, as istioctl's `profile dump -o json`.
fn json_text<T: Serialize>(value: &T) -> Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut buf,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    value.serialize(&mut ser)?;
    let mut text = String::from_utf8(buf)?;
    text.push('\n');
    Ok(text)
}

/// `path=value` for every scalar under `v`, as `--set` would take them (strings quoted as Go's
/// `%q`). Empty mappings and lists have no `--set` form and are left out.
fn flag_lines(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() {
                    escape_key(k)
                } else {
                    format!("{path}.{}", escape_key(k))
                };
                flag_lines(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                flag_lines(child, format!("{path}[{i}]"), out);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push(format!("{path}={}", emit::double_quoted(s))),
        other => out.push(format!("{path}={other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_are_set_paths_with_go_quoting() {
        let mut lines = Vec::new();
        flag_lines(
            &json!({"hub": "x", "values": {"a.b": [1, {"c": true}]}, "m": {}, "n": null}),
            String::new(),
            &mut lines,
        );
        assert_eq!(
            lines,
            ["hub=\"x\"", "values.a\\.b[0]=1", "values.a\\.b[1].c=true"]
        );
    }

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let v = sorted(json!({"b": 1, "a": [{"d": 1, "c": 2}], "f": 100.0, "g": 0.5}));
        assert_eq!(
            serde_json::to_string(&v).expect("json"),
            r#"{"a":[{"c":2,"d":1}],"b":1,"f":100,"g":0.5}"#
        );
    }
}
