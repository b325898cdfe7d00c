//! Completions and man pages are generated from the clap tree; this fails when the checked-in
//! copies are stale. Regenerate with `FERRY_UPDATE_GENERATED=1 cargo test --test it docs`.

use std::path::Path;

#[test]
fn generated_docs_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("FERRY_UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    for (rel, contents) in ferry::cli::docs::generated_files() {
        let path = root.join(&rel);
        if update {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(&path, &contents).expect("write generated file");
        } else if std::fs::read(&path).ok().as_deref() != Some(contents.as_slice()) {
            stale.push(rel);
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}; run: FERRY_UPDATE_GENERATED=1 cargo test --test it docs"
    );
}

/// Help text may only point at commands ferryctl has: a quoted `ferryctl <word>` or an example
/// line starting with it, in any about, long about, example or flag help, must name one of its
/// subcommands.
#[test]
fn help_text_names_only_existing_commands() {
    fn texts(cmd: &clap::Command, out: &mut Vec<(String, String)>) {
        let name = cmd.get_name().to_string();
        let mut push = |t: Option<&clap::builder::StyledStr>| {
            if let Some(t) = t {
                out.push((name.clone(), t.to_string()));
            }
        };
        push(cmd.get_about());
        push(cmd.get_long_about());
        push(cmd.get_before_help());
        push(cmd.get_before_long_help());
        push(cmd.get_after_help());
        push(cmd.get_after_long_help());
        for arg in cmd.get_arguments() {
            push(arg.get_help());
            push(arg.get_long_help());
        }
        for sub in cmd.get_subcommands() {
            texts(sub, out);
        }
    }
    let root = ferry::cli::command();
    let commands: Vec<&str> = root
        .get_subcommands()
        .map(clap::Command::get_name)
        .chain(["help"])
        .collect();
    let mut all = Vec::new();
    texts(&root, &mut all);
    let mention = regex::Regex::new(r"(?m)(?:^\s*|['`])ferryctl ([a-z][a-z-]*)").expect("regex");
    let unknown: Vec<String> = all
        .iter()
        .flat_map(|(cmd, text)| {
            mention
                .captures_iter(text)
                .filter(|c| !commands.contains(&&c[1]))
                .map(move |c| format!("{cmd}: `{}`", c[0].trim()))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "help text mentions commands ferryctl does not have: {unknown:?}"
    );
}
