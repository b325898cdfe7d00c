//! Printing helpers shared by commands: output formats, stdout writes that treat a closed pipe as
//! the reader's choice, and the color decision.

use std::io::{IsTerminal, Write};

use similar::{ChangeTag, TextDiff};

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

/// A unified diff of two texts (`--- a_name`, `+++ b_name`, hunks with three lines of
/// context), removed lines red and added lines green when `color`.
pub fn unified_diff(a: &str, b: &str, a_name: &str, b_name: &str, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m\n")
        } else {
            format!("{text}\n")
        }
    };
    let diff = TextDiff::from_lines(a, b);
    let mut out = paint("1", &format!("--- {a_name}"));
    out.push_str(&paint("1", &format!("+++ {b_name}")));
    for hunk in diff.unified_diff().iter_hunks() {
        out.push_str(&paint("36", &hunk.header().to_string()));
        for change in hunk.iter_changes() {
            let line = change.value().trim_end_matches('\n');
            match change.tag() {
                ChangeTag::Delete => out.push_str(&paint("31", &format!("-{line}"))),
                ChangeTag::Insert => out.push_str(&paint("32", &format!("+{line}"))),
                ChangeTag::Equal => out.push_str(&format!(" {line}\n")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_are_unified_and_plain_without_color() {
        let d = unified_diff("a\nb\nc\n", "a\nB\nc\n", "x", "y", false);
        assert_eq!(d, "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        let d = unified_diff("a\n", "b\n", "x", "y", true);
        assert!(
            d.contains("\x1b[31m-a\x1b[0m\n\x1b[32m+b\x1b[0m\n"),
            "{d:?}"
        );
    }
}
