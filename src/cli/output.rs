//! Printing helpers shared by commands: output formats, stdout writes that treat a closed pipe as
//! the reader's choice, and the color decision.

use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Json,
    Yaml,
}

impl OutputFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(OutputFormat::Json),
            "yaml" => Some(OutputFormat::Yaml),
            _ => None,
        }
    }
}

/// Writes to stdout. A broken pipe surfaces as an `io::Error` that `main` treats as success.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    write_stdout_bytes(text.as_bytes())
}

/// Writes to stdout, treating a reader that went away as done: for commands whose exit code
/// carries meaning beyond the text (analyze's 79), which must still be returned.
pub fn write_stdout_unless_closed(text: &str) -> std::io::Result<()> {
    match write_stdout(text) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

pub fn write_stdout_bytes(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Whether colors are wanted by default: stdout is a terminal, `TERM` is not `dumb` and
/// `NO_COLOR` is unset or empty (no-color.org).
pub fn default_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    !no_color && !dumb && std::io::stdout().is_terminal()
}
