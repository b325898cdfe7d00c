//! `/listeners`: the listeners the proxy has bound, as Envoy prints them: `<name>::<address>`
//! lines, or `envoy.admin.v3.Listeners` in proto JSON with `?format=json`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::{Value, json};

/// `GET /listeners`.
pub fn text(bound: &BTreeMap<String, SocketAddr>) -> String {
    bound
        .iter()
        .map(|(name, address)| format!("{name}::{address}\n"))
        .collect()
}

/// `GET /listeners?format=json`.
pub fn json(bound: &BTreeMap<String, SocketAddr>) -> Value {
    let statuses: Vec<Value> = bound
        .iter()
        .map(|(name, address)| {
            json!({
                "name": name,
                "local_address": {
                    "socket_address": {
                        "address": address.ip().to_string(),
                        "port_value": address.port(),
                    }
                }
            })
        })
        .collect();
    json!({ "listener_statuses": statuses })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound() -> BTreeMap<String, SocketAddr> {
        BTreeMap::from([
            (
                "0.0.0.0_8080".to_string(),
                "0.0.0.0:8080".parse().expect("address"),
            ),
            (
                "[::]_8443".to_string(),
                "[::]:8443".parse().expect("address"),
            ),
        ])
    }

    #[test]
    fn text_is_name_and_address() {
        assert_eq!(
            text(&bound()),
            "0.0.0.0_8080::0.0.0.0:8080\n[::]_8443::[::]:8443\n"
        );
    }

    #[test]
    fn json_is_envoys_listeners_proto() {
        let v: Value = serde_json::from_str(&json(&bound()).to_string()).expect("JSON");
        let l = &v["listener_statuses"];
        assert_eq!(l[0]["name"], "0.0.0.0_8080");
        assert_eq!(
            l[0]["local_address"]["socket_address"],
            json!({"address": "0.0.0.0", "port_value": 8080})
        );
        assert_eq!(l[1]["local_address"]["socket_address"]["address"], "::");
        assert!(l[1]["local_address"]["socket_address"]["port_value"].is_u64());
    }
}
