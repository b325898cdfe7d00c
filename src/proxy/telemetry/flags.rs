//! Envoy's response flags (`%RESPONSE_FLAGS%`, the `response_flags` label): what the proxy did
//! to a request besides forwarding it. A bit set per request, spelt only when a scrape or an
//! access log line needs it.

/// The flags a request collected; none is `-`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ResponseFlags(u32);

/// One flag, in Envoy's order (`ResponseFlagUtils::ALL_RESPONSE_STRINGS_FLAGS`), which is the
/// order several flags are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Flag {
    /// No healthy upstream host.
    NoHealthyUpstream,
    /// The upstream request timed out.
    UpstreamRequestTimeout,
    /// The upstream reset the stream.
    UpstreamRemoteReset,
    /// Connecting to the upstream failed.
    UpstreamConnectionFailure,
    /// The upstream connection ended before the response did.
    UpstreamConnectionTermination,
    /// A circuit breaker refused the request.
    UpstreamOverflow,
    /// No route matched.
    NoRouteFound,
    /// The fault filter delayed the request.
    DelayInjected,
    /// The fault filter aborted the request.
    FaultInjected,
    /// The downstream connection ended before the response was complete.
    DownstreamConnectionTermination,
    /// The retries ran out on a retriable answer.
    UpstreamRetryLimitExceeded,
    /// The downstream request was malformed.
    DownstreamProtocolError,
    /// The route's cluster does not exist.
    NoClusterFound,
}

impl Flag {
    /// Envoy's short spelling.
    pub fn short(self) -> &'static str {
        match self {
            Flag::NoHealthyUpstream => "UH",
            Flag::UpstreamRequestTimeout => "UT",
            Flag::UpstreamRemoteReset => "UR",
            Flag::UpstreamConnectionFailure => "UF",
            Flag::UpstreamConnectionTermination => "UC",
            Flag::UpstreamOverflow => "UO",
            Flag::NoRouteFound => "NR",
            Flag::DelayInjected => "DI",
            Flag::FaultInjected => "FI",
            Flag::DownstreamConnectionTermination => "DC",
            Flag::UpstreamRetryLimitExceeded => "URX",
            Flag::DownstreamProtocolError => "DPE",
            Flag::NoClusterFound => "NC",
        }
    }

    const ALL: [Flag; 13] = [
        Flag::NoHealthyUpstream,
        Flag::UpstreamRequestTimeout,
        Flag::UpstreamRemoteReset,
        Flag::UpstreamConnectionFailure,
        Flag::UpstreamConnectionTermination,
        Flag::UpstreamOverflow,
        Flag::NoRouteFound,
        Flag::DelayInjected,
        Flag::FaultInjected,
        Flag::DownstreamConnectionTermination,
        Flag::UpstreamRetryLimitExceeded,
        Flag::DownstreamProtocolError,
        Flag::NoClusterFound,
    ];
}

impl ResponseFlags {
    pub fn set(&mut self, flag: Flag) {
        self.0 |= 1 << flag as u8;
    }

    pub fn has(self, flag: Flag) -> bool {
        self.0 & (1 << flag as u8) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Appends Envoy's spelling: the short names joined by `,`, or `-` for none.
    pub fn write(self, out: &mut String) {
        if self.is_empty() {
            out.push('-');
            return;
        }
        let mut first = true;
        for flag in Flag::ALL.iter().filter(|f| self.has(**f)) {
            if !first {
                out.push(',');
            }
            out.push_str(flag.short());
            first = false;
        }
    }
}

impl std::fmt::Display for ResponseFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_a_dash_and_several_follow_envoys_order() {
        assert_eq!(ResponseFlags::default().to_string(), "-");
        let mut f = ResponseFlags::default();
        f.set(Flag::FaultInjected);
        f.set(Flag::DelayInjected);
        assert_eq!(f.to_string(), "DI,FI");
        f.set(Flag::NoHealthyUpstream);
        assert_eq!(f.to_string(), "UH,DI,FI");
        assert!(f.has(Flag::DelayInjected) && !f.has(Flag::NoRouteFound));
    }
}
