//! Envoy's loggers and their levels, as `POST /logging` and `--proxyComponentLogLevel` change
//! them. Ferry logs through `tracing`, so each Envoy logger name stands for the tracing targets
//! (Ferry modules and the crates under them) doing that logger's job; [`Loggers::directives`]
//! turns the levels into an `EnvFilter` directive string. Loggers with no Ferry counterpart
//! still show and take a level, so tools that read Envoy's list (`istioctl proxy-config log`)
//! see the list they expect.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

/// Envoy's log levels (spdlog's names as Envoy configures them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warning,
    Error,
    Critical,
    Off,
}

impl Level {
    /// Every level, in Envoy's order (the order its usage text lists them).
    pub const ALL: [Level; 7] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warning,
        Level::Error,
        Level::Critical,
        Level::Off,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
            Level::Off => "off",
        }
    }

    /// The `tracing` level: it has no critical, so critical shows errors.
    fn directive(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warn",
            Level::Error | Level::Critical => "error",
            Level::Off => "off",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = LoggingError;

    /// Envoy's admin names exactly (`warning`, not `warn`).
    fn from_str(s: &str) -> Result<Level, LoggingError> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or(LoggingError::UnknownLevel)
    }
}

/// Why a change was refused; the messages are Envoy's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoggingError {
    #[error("unknown logger level")]
    UnknownLevel,
    #[error("unknown logger name")]
    UnknownLogger,
    #[error("empty logger name or empty logger level")]
    Empty,
    #[error("invalid number of parameters")]
    ParameterCount,
}

/// Envoy's logger names in the order Envoy's registry lists them (the order of `POST /logging`
/// in a real Envoy, `fixtures/envoy/logging-response.txt`), each with the tracing targets
/// that do its job in Ferry. `misc` has none of its own: it is the level of everything no
/// other logger claims.
pub const LOGGERS: &[(&str, &[&str])] = &[
    ("admin", &["ferry::proxy::admin"]),
    ("aws", &[]),
    ("assert", &[]),
    ("backtrace", &[]),
    ("client", &["hyper_util::client"]),
    ("config", &["ferry::proxy::state", "ferry::xds"]),
    ("connection", &["ferry::proxy::server"]),
    ("dubbo", &[]),
    ("file", &[]),
    ("filter", &[]),
    ("forward_proxy", &[]),
    ("grpc", &["tonic", "tower"]),
    ("hc", &[]),
    ("health_checker", &[]),
    ("http", &["hyper", "hyper_util::server"]),
    ("http2", &["h2"]),
    ("hystrix", &[]),
    ("init", &[]),
    ("io", &["mio"]),
    ("jwt", &[]),
    ("kafka", &[]),
    ("lua", &[]),
    ("main", &["ferry::cli::proxy"]),
    ("misc", &[]),
    ("mongo", &[]),
    ("quic", &[]),
    ("pool", &["hyper_util::client::legacy::pool"]),
    ("rbac", &[]),
    ("redis", &[]),
    (
        "router",
        &[
            "ferry::proxy::forward",
            "ferry::proxy::routes",
            "ferry::proxy::matcher",
        ],
    ),
    ("runtime", &["tokio"]),
    ("stats", &["ferry::proxy::stats"]),
    ("secret", &["ferry::proxy::secrets"]),
    ("tap", &[]),
    ("testing", &[]),
    ("thrift", &[]),
    ("tracing", &[]),
    ("upstream", &["ferry::proxy::cluster"]),
    ("udp", &[]),
    ("wasm", &[]),
];

/// The catch-all logger.
const MISC: &str = "misc";

/// The level of every logger in [`LOGGERS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loggers {
    levels: Vec<Level>,
}

impl Loggers {
    /// Every logger at `level` (Envoy's `--log-level`).
    pub fn new(level: Level) -> Loggers {
        Loggers {
            levels: vec![level; LOGGERS.len()],
        }
    }

    /// `level=<level>`: every logger.
    pub fn set_all(&mut self, level: Level) {
        self.levels.fill(level);
    }

    /// `<name>=<level>`.
    pub fn set(&mut self, name: &str, level: Level) -> Result<(), LoggingError> {
        let i = index(name).ok_or(LoggingError::UnknownLogger)?;
        self.levels[i] = level;
        Ok(())
    }

    pub fn level(&self, name: &str) -> Option<Level> {
        index(name).map(|i| self.levels[i])
    }

    /// `name1:level1,name2:level2`: Envoy's `paths=` and `--component-log-level` form. All
    /// pairs are checked before any applies.
    pub fn set_paths(&mut self, paths: &str) -> Result<(), LoggingError> {
        let mut changes = Vec::new();
        for pair in paths.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, level) = pair.split_once(':').unwrap_or((pair, ""));
            let (name, level) = (name.trim(), level.trim());
            if name.is_empty() || level.is_empty() {
                return Err(LoggingError::Empty);
            }
            changes.push((name, level.parse::<Level>()?));
        }
        if changes.iter().any(|(name, _)| index(name).is_none()) {
            return Err(LoggingError::UnknownLogger);
        }
        for (name, level) in changes {
            self.set(name, level)?;
        }
        Ok(())
    }

    /// The body of `POST /logging`: `active loggers:`, then `  <name>: <level>` per logger, then
    /// a blank line, as Envoy prints it.
    pub fn body(&self) -> String {
        let mut out = String::from("active loggers:\n");
        for ((name, _), level) in LOGGERS.iter().zip(&self.levels) {
            out.push_str(&format!("  {name}: {level}\n"));
        }
        out.push('\n');
        out
    }

    /// The `EnvFilter` directives: `misc`'s level as the default, then each target at its
    /// logger's level (the most specific target wins, so `ferry::proxy::forward` follows
    /// `router` while the rest of `ferry` follows `misc`).
    pub fn directives(&self) -> String {
        let misc = self.level(MISC).unwrap_or(Level::Warning);
        let mut out = vec![misc.directive().to_string()];
        for ((_, targets), level) in LOGGERS.iter().zip(&self.levels) {
            for target in *targets {
                out.push(format!("{target}={}", level.directive()));
            }
        }
        out.join(",")
    }
}

fn index(name: &str) -> Option<usize> {
    LOGGERS.iter().position(|(n, _)| *n == name)
}

/// Applies a tracing filter directive (e.g. `info,ferry::xds=debug`) to the running subscriber:
/// the proxy's loggers and the control plane's ControlZ scopes (`discovery::ctrlz`) both go
/// through one.
pub type Apply = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The loggers of a running proxy and the hook that applies their levels (a
/// `tracing_subscriber::reload` handle in `ferryctl proxy`; a recorder in tests).
pub struct LogControl {
    loggers: Mutex<Loggers>,
    apply: Apply,
}

impl LogControl {
    pub fn new(loggers: Loggers, apply: Apply) -> LogControl {
        LogControl {
            loggers: Mutex::new(loggers),
            apply,
        }
    }

    pub fn loggers(&self) -> Loggers {
        self.loggers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `change` on a copy and, if it succeeds, applies and keeps it; the levels stay as
    /// they were when it fails.
    pub fn change(
        &self,
        change: impl FnOnce(&mut Loggers) -> Result<(), LoggingError>,
    ) -> Result<(), LoggingError> {
        let mut loggers = self.loggers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = loggers.clone();
        change(&mut next)?;
        if let Err(e) = (self.apply)(&next.directives()) {
            // The directives are built from known levels and targets, so this is a bug.
            tracing::error!("cannot apply log levels: {e}");
        }
        *loggers = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const FIXTURE: &str = include_str!("../../fixtures/envoy/logging-response.txt");

    #[test]
    fn the_body_lists_envoys_loggers_in_envoys_order() {
        let ours = Loggers::new(Level::Warning).body();
        assert_eq!(ours, FIXTURE);
    }

    #[test]
    fn levels_parse_by_envoys_names_only() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>(), Ok(level));
        }
        assert_eq!("warn".parse::<Level>(), Err(LoggingError::UnknownLevel));
        assert_eq!("DEBUG".parse::<Level>(), Err(LoggingError::UnknownLevel));
    }

    #[test]
    fn set_all_and_set_one() {
        let mut l = Loggers::new(Level::Warning);
        l.set_all(Level::Debug);
        assert!(
            l.body()
                .lines()
                .skip(1)
                .filter(|s| !s.is_empty())
                .all(|s| s.ends_with(": debug"))
        );
        l.set("router", Level::Trace).expect("router is a logger");
        assert_eq!(l.level("router"), Some(Level::Trace));
        assert!(l.body().contains("  router: trace\n"));
        assert_eq!(l.set("nope", Level::Info), Err(LoggingError::UnknownLogger));
    }

    #[test]
    fn paths_change_several_or_none() {
        let mut l = Loggers::new(Level::Warning);
        l.set_paths("router:debug, http:info").expect("valid paths");
        assert_eq!(l.level("router"), Some(Level::Debug));
        assert_eq!(l.level("http"), Some(Level::Info));
        let before = l.clone();
        assert_eq!(
            l.set_paths("misc:error,nope:debug"),
            Err(LoggingError::UnknownLogger)
        );
        assert_eq!(l.set_paths("misc:loud"), Err(LoggingError::UnknownLevel));
        assert_eq!(l.set_paths("misc"), Err(LoggingError::Empty));
        assert_eq!(l.set_paths(":debug"), Err(LoggingError::Empty));
        assert_eq!(l, before, "a refused change changes nothing");
    }

    #[test]
    fn directives_put_misc_first_and_map_each_target() {
        let mut l = Loggers::new(Level::Warning);
        l.set_paths("misc:error,router:debug,config:critical,admin:off")
            .expect("valid paths");
        let d = l.directives();
        assert!(d.starts_with("error,"), "{d}");
        for want in [
            "ferry::proxy::forward=debug",
            "ferry::proxy::routes=debug",
            "ferry::proxy::state=error",
            "ferry::xds=error",
            "ferry::proxy::admin=off",
            "ferry::proxy::server=warn",
        ] {
            assert!(d.split(',').any(|x| x == want), "{want} missing from {d}");
        }
        tracing_subscriber::EnvFilter::try_new(&d).expect("a valid EnvFilter");
    }

    #[test]
    fn every_logger_has_a_distinct_name_and_targets_belong_to_one_logger() {
        let mut names: Vec<&str> = LOGGERS.iter().map(|(n, _)| *n).collect();
        let mut targets: Vec<&str> = LOGGERS
            .iter()
            .flat_map(|(_, t)| t.iter().copied())
            .collect();
        let (n, t) = (names.len(), targets.len());
        names.sort_unstable();
        names.dedup();
        targets.sort_unstable();
        targets.dedup();
        assert_eq!((names.len(), targets.len()), (n, t));
    }

    #[test]
    fn control_applies_only_successful_changes() {
        let applied = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = applied.clone();
        let control = LogControl::new(
            Loggers::new(Level::Warning),
            Box::new(move |d| {
                sink.lock().expect("lock").push(d.to_string());
                Ok(())
            }),
        );
        control
            .change(|l| {
                l.set_all(Level::Debug);
                Ok(())
            })
            .expect("applies");
        assert_eq!(
            control.change(|l| l.set("nope", Level::Info)),
            Err(LoggingError::UnknownLogger)
        );
        assert_eq!(control.loggers().level("main"), Some(Level::Debug));
        let applied = applied.lock().expect("lock");
        assert_eq!(applied.len(), 1);
        assert!(applied[0].starts_with("debug,"));
    }
}
