//! Generated documentation: shell completions and man pages, from the same clap tree that parses
//! the command line. Checked in under `completions/` and `man/`; a test fails when they are stale.

use clap::ValueEnum;

use super::completion::{CompletionShell, script};

/// `(relative path, contents)` of every generated file.
pub fn generated_files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for shell in CompletionShell::value_variants() {
        out.push((format!("completions/{}", shell.file_name()), script(*shell)));
    }
    let root = super::command();
    add_man_pages(&root, "ferryctl", &mut out);
    out
}

fn add_man_pages(cmd: &clap::Command, name: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let cmd = cmd.clone().name(name.to_string());
    let mut buf = Vec::new();
    // Rendering into memory cannot fail.
    let _ = clap_mangen::Man::new(cmd.clone()).render(&mut buf);
    out.push((format!("man/{name}.1"), buf));
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        add_man_pages(sub, &format!("{name}-{}", sub.get_name()), out);
    }
}
