//! `ferryctl completion <shell>`: shell completion scripts generated from the clap tree.

use anyhow::Result;
use clap::{Args, ValueEnum};
use clap_complete::aot::{Shell, generate};

use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to generate a completion script for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl CompletionShell {
    pub fn shell(self) -> Shell {
        match self {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
            CompletionShell::Powershell => Shell::PowerShell,
            CompletionShell::Elvish => Shell::Elvish,
        }
    }

    /// File name under `completions/` for the checked-in script.
    pub fn file_name(self) -> &'static str {
        match self {
            CompletionShell::Bash => "ferryctl.bash",
            CompletionShell::Zsh => "_ferryctl",
            CompletionShell::Fish => "ferryctl.fish",
            CompletionShell::Powershell => "_ferryctl.ps1",
            CompletionShell::Elvish => "ferryctl.elv",
        }
    }
}

/// The completion script for `shell`, as bytes.
pub fn script(shell: CompletionShell) -> Vec<u8> {
    let mut cmd = crate::cli::command();
    let mut buf = Vec::new();
    generate(shell.shell(), &mut cmd, "ferryctl", &mut buf);
    buf
}

pub fn run(args: &CompletionArgs) -> Result<Exit> {
    crate::cli::output::write_stdout_bytes(&script(args.shell))?;
    Ok(Exit::Success)
}
