//! istiod's ControlZ logging scopes (`/scopej`, `/scopej/<scope>`), which `istioctl admin log`
//! reads and changes: each scope's output level, backed by a reload handle on the process' log
//! filter so a change takes effect at once. Ferry's scopes are `default` (everything without a
//! scope of its own) and `ads` (the xDS server), as istiod names them.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::proxy::logging::Apply;

/// istiod's scope levels (`pkg/log`), lowest to highest.
pub const LEVELS: [&str; 5] = ["debug", "info", "warn", "error", "none"];

/// A scope as ControlZ serialises it (`pkg/ctrlz/topics/scopes.go` `scopeInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeInfo {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub output_level: String,
    #[serde(default)]
    pub stack_trace_level: String,
    #[serde(default)]
    pub log_callers: bool,
}

/// The scopes, their descriptions and the tracing target each maps to (`None`: the base level).
const SCOPES: [(&str, &str, Option<&str>); 2] = [
    ("ads", "ads debugging", Some("ferry::xds")),
    ("default", "Unscoped logging messages.", None),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("unknown scope {0:?} (scopes: ads, default)")]
    Unknown(String),
    #[error("{0:?} is not a level (debug, info, warn, error, none)")]
    Level(String),
    #[error("stack traces are not captured by Ferry; only stack_trace_level none is accepted")]
    StackTraces,
}

/// The live scope levels of this process.
pub struct Scopes {
    levels: Mutex<BTreeMap<&'static str, String>>,
    apply: Apply,
}

impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scopes")
            .field("levels", &self.levels)
            .finish()
    }
}

impl Scopes {
    /// From `--log_output_level` (`scope:level,…`; a bare level sets `default`).
    pub fn from_spec(spec: &str, apply: Apply) -> Result<Scopes, ScopeError> {
        let mut levels: BTreeMap<&'static str, String> = SCOPES
            .iter()
            .map(|(n, _, _)| (*n, "info".to_string()))
            .collect();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (scope, level) = part.split_once(':').unwrap_or(("default", part));
            let name = known(scope)?;
            levels.insert(name, check_level(level)?.to_string());
        }
        Ok(Scopes {
            levels: Mutex::new(levels),
            apply,
        })
    }

    /// The tracing filter directive for the current levels.
    pub fn directive(&self) -> String {
        directive(&self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, String>> {
        self.levels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `GET /scopej`.
    pub fn list(&self) -> Vec<ScopeInfo> {
        let levels = self.lock();
        SCOPES
            .iter()
            .map(|(name, description, _)| info(name, description, &levels))
            .collect()
    }

    /// `GET /scopej/<name>`.
    pub fn get(&self, name: &str) -> Option<ScopeInfo> {
        let levels = self.lock();
        SCOPES
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(n, d, _)| info(n, d, &levels))
    }

    /// `PUT /scopej/<name>`: empty fields are left as they are, as ControlZ does.
    pub fn put(&self, name: &str, update: &ScopeInfo) -> Result<(), ScopeError> {
        let name = known(name)?;
        if !update.stack_trace_level.is_empty() && update.stack_trace_level != "none" {
            return Err(ScopeError::StackTraces);
        }
        let mut levels = self.lock();
        if !update.output_level.is_empty() {
            let level = check_level(&update.output_level)?.to_string();
            let mut next = levels.clone();
            next.insert(name, level);
            // Applied before it is recorded, so what /scopej reports is what the process does.
            (self.apply)(&directive(&next)).map_err(ScopeError::Level)?;
            *levels = next;
        }
        Ok(())
    }
}

fn info(name: &str, description: &str, levels: &BTreeMap<&'static str, String>) -> ScopeInfo {
    ScopeInfo {
        name: name.to_string(),
        description: description.to_string(),
        output_level: levels.get(name).cloned().unwrap_or_else(|| "info".into()),
        stack_trace_level: "none".into(),
        log_callers: false,
    }
}

fn known(scope: &str) -> Result<&'static str, ScopeError> {
    SCOPES
        .iter()
        .map(|(n, _, _)| *n)
        .find(|n| *n == scope)
        .ok_or_else(|| ScopeError::Unknown(scope.to_string()))
}

fn check_level(level: &str) -> Result<&str, ScopeError> {
    if LEVELS.contains(&level) {
        Ok(level)
    } else {
        Err(ScopeError::Level(level.to_string()))
    }
}

/// istiod's level names as tracing's (`none` is `off`).
fn tracing_level(level: &str) -> &str {
    if level == "none" { "off" } else { level }
}

/// The base level, then a target directive for each scope whose level differs from it.
fn directive(levels: &BTreeMap<&'static str, String>) -> String {
    let base = levels.get("default").map_or("info", String::as_str);
    let mut parts = vec![tracing_level(base).to_string()];
    for (name, _, target) in SCOPES {
        if let (Some(target), Some(level)) = (target, levels.get(name))
            && level != base
        {
            parts.push(format!("{target}={}", tracing_level(level)));
        }
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn scopes(spec: &str) -> (Scopes, Arc<Mutex<Vec<String>>>) {
        let applied = Arc::new(Mutex::new(Vec::new()));
        let sink = applied.clone();
        let s = Scopes::from_spec(
            spec,
            Box::new(move |d| {
                sink.lock().expect("lock").push(d.to_string());
                Ok(())
            }),
        )
        .expect("valid");
        (s, applied)
    }

    #[test]
    fn levels_from_the_flag_and_changes_apply_a_new_filter() {
        let (s, applied) = scopes("default:warn,ads:debug");
        assert_eq!(s.directive(), "warn,ferry::xds=debug");
        assert_eq!(s.get("ads").expect("ads").output_level, "debug");
        let update = ScopeInfo {
            name: "ads".into(),
            description: String::new(),
            output_level: "none".into(),
            stack_trace_level: String::new(),
            log_callers: false,
        };
        s.put("ads", &update).expect("put");
        assert_eq!(
            applied.lock().expect("lock").as_slice(),
            ["warn,ferry::xds=off"]
        );
        assert_eq!(
            s.list().iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["ads", "default"]
        );
        assert_eq!(
            s.put("nope", &update),
            Err(ScopeError::Unknown("nope".into()))
        );
        let bad = ScopeInfo {
            output_level: "loud".into(),
            ..update.clone()
        };
        assert_eq!(s.put("ads", &bad), Err(ScopeError::Level("loud".into())));
        let traces = ScopeInfo {
            stack_trace_level: "error".into(),
            ..update
        };
        assert_eq!(s.put("ads", &traces), Err(ScopeError::StackTraces));
    }

    #[test]
    fn bad_flags_are_refused() {
        let apply: Apply = Box::new(|_| Ok(()));
        assert!(Scopes::from_spec("model:debug", apply).is_err());
    }
}
