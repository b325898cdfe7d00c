//! `ferryctl version`: client build information in istioctl's shapes.

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::cli::output::{OutputFormat, write_stdout};
use crate::config::emit as yaml;
use crate::exit::{CommandError, Exit};

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Use --short=false to generate full version information
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub short: bool,
    /// One of 'yaml' or 'json'.
    #[arg(short, long, value_parser = ["json", "yaml"])]
    pub output: Option<String>,
    /// Query the control plane for its version. Ferry's control plane is not built yet, so only
    /// --remote=false is accepted.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub remote: bool,
}

/// The `clientVersion` object istioctl prints (`pkg/version.BuildInfo`), same JSON keys.
#[derive(Debug, Serialize)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
    /// Named as istioctl names it so tools that read it keep working; holds the Rust compiler.
    pub golang_version: &'static str,
    pub status: &'static str,
    pub tag: &'static str,
}

pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    revision: env!("FERRY_GIT_REVISION"),
    golang_version: env!("FERRY_RUSTC_VERSION"),
    status: env!("FERRY_BUILD_STATUS"),
    tag: env!("CARGO_PKG_VERSION"),
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionOutput<'a> {
    client_version: &'a BuildInfo,
}

pub fn run(args: &VersionArgs) -> Result<Exit> {
    if args.remote {
        return Err(CommandError::usage(
            "--remote needs a Ferry control plane, and this build has none to query; use --remote=false",
        )
        .into());
    }
    let out = VersionOutput {
        client_version: &BUILD,
    };
    let text = match args.output.as_deref().map(OutputFormat::parse) {
        Some(Some(OutputFormat::Json)) => format!("{}\n", serde_json::to_string_pretty(&out)?),
        Some(Some(OutputFormat::Yaml)) => yaml::to_string(&serde_json::to_value(&out)?),
        _ if args.short => format!("client version: {}\n", BUILD.version),
        _ => format!(
            "client version: version.BuildInfo{{Version:\"{}\", GitRevision:\"{}\", GolangVersion:\"{}\", BuildStatus:\"{}\", GitTag:\"{}\"}}\n",
            BUILD.version, BUILD.revision, BUILD.golang_version, BUILD.status, BUILD.tag
        ),
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}
