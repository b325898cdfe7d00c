//! `proxy-config log`: turning `--level` / `--reset` into Envoy `POST /logging` requests, checked
//! against the loggers the proxy reports (Envoy's list depends on its build, so it is always read
//! from the proxy first).

/// Envoy's log levels, as istioctl accepts them (`warn` is `warning`).
pub const LEVELS: &[&str] = &[
    "trace", "debug", "info", "warning", "error", "critical", "off",
];

/// The logger name Envoy treats as "all loggers".
pub const ALL_LOGGERS: &str = "level";

/// What `--reset` sets when no injector config says otherwise.
pub const DEFAULT_LEVEL: &str = "warning";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LevelError {
    #[error("unrecognized logging level: {given} (valid levels: {})", LEVELS.join(", "))]
    Level { given: String },
    #[error("unrecognized logger name: {given} (valid loggers: {valid})")]
    Logger { given: String, valid: String },
}

/// The logger names of a `/logging` body (`active loggers:\n  admin: warning\n …`).
pub fn loggers(body: &str) -> Vec<&str> {
    body.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim()))
        .collect()
}

fn level(given: &str) -> Result<&'static str, LevelError> {
    let given_norm = if given == "warn" { "warning" } else { given };
    LEVELS
        .iter()
        .copied()
        .find(|l| *l == given_norm)
        .ok_or_else(|| LevelError::Level {
            given: given.to_string(),
        })
}

/// The query strings to POST, in order: the all-loggers level first, then one per logger.
/// `spec` is `--level`: `<level>` or `[<component>::]<logger>[:=]<level>`, comma-separated.
pub fn plan(spec: &str, known: &[&str]) -> Result<Vec<String>, LevelError> {
    let mut all: Option<&str> = None;
    let mut each: Vec<(String, &str)> = Vec::new();
    for part in spec.split(',') {
        if !part.contains(':') && !part.contains('=') {
            all = Some(level(part)?);
            continue;
        }
        let logger_and_level = part.rsplit("::").next().unwrap_or(part);
        let (logger, lvl) = logger_and_level
            .split_once([':', '='])
            .unwrap_or((logger_and_level, ""));
        if logger != ALL_LOGGERS && !known.contains(&logger) {
            return Err(LevelError::Logger {
                given: logger.to_string(),
                valid: known.join(", "),
            });
        }
        let lvl = level(lvl)?;
        if logger == ALL_LOGGERS {
            all = Some(lvl);
        } else if let Some(entry) = each.iter_mut().find(|(l, _)| l == logger) {
            entry.1 = lvl;
        } else {
            each.push((logger.to_string(), lvl));
        }
    }
    let mut out: Vec<String> = all
        .map(|l| format!("{ALL_LOGGERS}={l}"))
        .into_iter()
        .collect();
    out.extend(each.into_iter().map(|(logger, l)| format!("{logger}={l}")));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = include_str!("../../fixtures/envoy/logging-response.txt");

    #[test]
    fn reads_the_logger_list() {
        let l = loggers(BODY);
        assert_eq!(l.len(), 40);
        assert_eq!(l[0], "admin");
    }

    #[test]
    fn all_loggers_first_then_each() {
        let known = loggers(BODY);
        assert_eq!(
            plan("http:debug,info,envoy::redis=warn", &known).unwrap(),
            ["level=info", "http=debug", "redis=warning"]
        );
    }

    #[test]
    fn refuses_unknown_names_and_levels() {
        let known = loggers(BODY);
        let err = plan("nope:debug", &known).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unrecognized logger name: nope (valid loggers: admin, aws,")
        );
        assert_eq!(
            plan("loud", &known).unwrap_err().to_string(),
            "unrecognized logging level: loud (valid levels: trace, debug, info, warning, error, critical, off)"
        );
        assert!(plan("http:loud", &known).is_err());
    }
}
