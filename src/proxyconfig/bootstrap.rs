//! `proxy-config bootstrap`: the bootstrap section whole, or (`-o short`) the versions of Istio
//! and Envoy the node reports.

use serde_json::Value;

use super::dump::{self, ConfigDump, u64_of};
use super::{DumpError, tabwriter};

/// The three version lines of `bootstrap -o short`.
pub fn summary(dump: &ConfigDump) -> Result<String, DumpError> {
    let section = dump.section(dump::BOOTSTRAP)?;
    let node = section.pointer("/bootstrap/node");
    let meta = |k: &str| {
        node.and_then(|n| n.pointer(&format!("/metadata/{k}")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let version = node.and_then(|n| n.pointer("/user_agent_build_version/version"));
    let part = |k: &str| u64_of(version.and_then(|v| v.get(k)));
    let envoy = format!(
        "{}.{}.{}",
        part("major_number"),
        part("minor_number"),
        part("patch")
    );
    let t = format!(
        "Istio Version:\t{}\nIstio Proxy Version:\t{}\nEnvoy Version:\t{envoy}\n",
        meta("ISTIO_VERSION"),
        meta("ISTIO_PROXY_SHA")
    );
    Ok(tabwriter::format(&t, 1))
}

/// What `-o json|yaml` prints: the bootstrap section without its `@type`.
pub fn section(dump: &ConfigDump) -> Result<Value, DumpError> {
    dump.section_without_type(dump::BOOTSTRAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_a_real_envoy() {
        let dump = ConfigDump::parse(include_bytes!("../../fixtures/envoy/config-dump-full.json"))
            .unwrap();
        assert_eq!(
            summary(&dump).unwrap(),
            "Istio Version:       1.21.0-1226\n\
             Istio Proxy Version: ee85c5f28702f00621aed895915fca565796b9e4\n\
             Envoy Version:       0.0.0\n"
        );
    }
}
