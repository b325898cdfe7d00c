//! Small constructors for protobuf well-known types and the Envoy building blocks every resource
//! uses (ADS config sources, socket addresses, typed `Any`s).

use std::time::Duration as StdDuration;

use envoy_types::pb::envoy::config::core::v3::{
    Address, AggregatedConfigSource, ApiVersion, ConfigSource, Pipe, SocketAddress, address,
    config_source, socket_address,
};
use envoy_types::pb::google::protobuf::{Any, BoolValue, Duration, UInt32Value};
use prost::{Message, Name};

use crate::validation::durations::parse_go_duration;

/// Packs a message into an `Any` with its `type.googleapis.com/` URL.
pub fn pack<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

pub fn duration(d: StdDuration) -> Duration {
    Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Below one billion by construction, so it fits.
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// A zero duration: Envoy's "no timeout".
pub fn no_timeout() -> Duration {
    Duration::default()
}

/// A Go duration string (`1.5s`, `300ms`) from config; `None` when it does not parse or is
/// negative (the validator has rejected such config already, so this is only a guard).
pub fn go_duration(s: &str) -> Option<Duration> {
    let nanos = parse_go_duration(s).ok()?;
    let nanos = u64::try_from(nanos).ok()?;
    Some(duration(StdDuration::from_nanos(nanos)))
}

pub fn uint32(v: u32) -> Option<UInt32Value> {
    Some(UInt32Value { value: v })
}

pub fn boolean(v: bool) -> Option<BoolValue> {
    Some(BoolValue { value: v })
}

/// `{ads: {}, initial_fetch_timeout: 0s, resource_api_version: V3}`: how Istio points proxies
/// at RDS, EDS and SDS, all over the one ADS stream.
pub fn ads_config_source() -> ConfigSource {
    ConfigSource {
        config_source_specifier: Some(config_source::ConfigSourceSpecifier::Ads(
            AggregatedConfigSource {},
        )),
        initial_fetch_timeout: Some(no_timeout()),
        resource_api_version: ApiVersion::V3 as i32,
        ..Default::default()
    }
}

/// A TCP socket address, or a Unix socket for `unix://` addresses (WorkloadEntries may use them).
pub fn address(host: &str, port: u32) -> Address {
    if let Some(path) = host.strip_prefix("unix://") {
        return Address {
            address: Some(address::Address::Pipe(Pipe {
                path: path.to_string(),
                mode: 0,
            })),
        };
    }
    Address {
        address: Some(address::Address::SocketAddress(SocketAddress {
            address: host.to_string(),
            port_specifier: Some(socket_address::PortSpecifier::PortValue(port)),
            ..Default::default()
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_convert() {
        assert_eq!(
            go_duration("1.5s"),
            Some(Duration {
                seconds: 1,
                nanos: 500_000_000
            })
        );
        assert_eq!(go_duration("-1s"), None);
        assert_eq!(go_duration("soon"), None);
    }
}
