//! `proxy-config ecds`: the extension configs (ECDS) the proxy holds, by name and type.

use std::fmt::Write as _;

use serde_json::Value;

use super::dump::{self, ConfigDump, items, str_of};
use super::{DumpError, gosort, tabwriter};

const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// The `ECDS NAME  TYPE` table, sorted by type URL then name.
pub fn summary(dump: &ConfigDump) -> Result<String, DumpError> {
    let section = dump.section(dump::ECDS)?;
    let mut rows: Vec<(&str, &str)> = items(section, "ecds_filters")
        .filter_map(|f| f.get("ecds_filter"))
        .map(|c| {
            let url = c
                .pointer("/typed_config/@type")
                .and_then(Value::as_str)
                .unwrap_or("");
            (str_of(c, "name"), url)
        })
        .collect();
    gosort::sort_slice(
        &mut rows,
        |a, b| {
            if a.1 == b.1 { a.0 < b.0 } else { a.1 < b.1 }
        },
    );
    let mut t = String::from("ECDS NAME\tTYPE\n");
    for (name, url) in rows {
        let _ = writeln!(
            t,
            "{name}\t{}",
            url.strip_prefix(TYPE_URL_PREFIX).unwrap_or(url)
        );
    }
    Ok(tabwriter::format(&t, 5))
}

/// What `-o json|yaml` prints: the ECDS section without its `@type`.
pub fn section(dump: &ConfigDump) -> Result<Value, DumpError> {
    dump.section_without_type(dump::ECDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sorted_by_type_then_name() {
        let dump = ConfigDump::parse(
            br#"{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.EcdsConfigDump",
              "ecds_filters": [
                {"ecds_filter": {"@type": "x", "name": "b", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"}}},
                {"ecds_filter": {"@type": "x", "name": "a", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"}}}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            summary(&dump).unwrap(),
            "ECDS NAME     TYPE\n\
             a             envoy.extensions.filters.http.wasm.v3.Wasm\n\
             b             envoy.extensions.filters.http.wasm.v3.Wasm\n"
        );
    }
}
