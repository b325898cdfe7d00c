//! `ferryctl x` (alias `experimental`): istioctl's group for commands whose interface may still
//! change. Only `precheck` lives here so far.

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::cli::precheck::{self, PrecheckArgs};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct ExperimentalArgs {
    #[command(subcommand)]
    pub command: ExperimentalCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExperimentalCommand {
    /// Check whether Istio can safely be installed or upgraded
    Precheck(PrecheckArgs),
}

pub fn run(global: &GlobalArgs, args: &ExperimentalArgs) -> Result<Exit> {
    match &args.command {
        ExperimentalCommand::Precheck(args) => precheck::run(global, args),
    }
}
