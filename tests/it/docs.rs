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
