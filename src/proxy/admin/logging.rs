//! `POST /logging`: lists Envoy's loggers and changes their levels, with Envoy's parameters
//! (`?level=<level>` for all, `?<logger>=<level>` for one, `?paths=<logger>:<level>,...`) and
//! Envoy's answers: the `active loggers:` list, after an error and its usage text (400) when
//! the change is refused.

use http::StatusCode;

use crate::proxy::logging::{Level, LogControl, Loggers, LoggingError};

/// Handles `/logging` with its query parameters (decoded, first of each name).
pub fn handle(control: &LogControl, params: &[(String, String)]) -> (StatusCode, String) {
    let mut out = String::new();
    let mut status = StatusCode::OK;
    if !params.is_empty()
        && let Err(e) = control.change(|loggers| change(loggers, params))
    {
        status = StatusCode::BAD_REQUEST;
        out.push_str(&usage(&e));
    }
    out.push_str(&control.loggers().body());
    (status, out)
}

fn change(loggers: &mut Loggers, params: &[(String, String)]) -> Result<(), LoggingError> {
    let [(key, value)] = params else {
        return Err(LoggingError::ParameterCount);
    };
    match key.as_str() {
        "level" => {
            let level: Level = value.parse()?;
            tracing::info!("change all log levels: level='{level}'");
            loggers.set_all(level);
            Ok(())
        }
        "paths" => {
            loggers.set_paths(value)?;
            tracing::info!("change log levels: paths='{value}'");
            Ok(())
        }
        name => {
            loggers.set(name, value.parse()?)?;
            tracing::info!("change log level: name='{name}' level='{value}'");
            Ok(())
        }
    }
}

/// Envoy's error text for a refused change.
fn usage(e: &LoggingError) -> String {
    let levels: String = Level::ALL.iter().map(|l| format!("{l} ")).collect();
    format!(
        "error: {e}\n\n\
         usage: /logging?<name>=<level> (change single level)\n\
         usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n\
         usage: /logging?level=<level> (change all levels)\n\
         levels: {levels}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control() -> LogControl {
        LogControl::new(Loggers::new(Level::Warning), Box::new(|_| Ok(())))
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_parameters_lists() {
        let (status, body) = handle(&control(), &[]);
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with("active loggers:\n  admin: warning\n"));
    }

    #[test]
    fn level_sets_all_and_name_sets_one() {
        let c = control();
        let (status, body) = handle(&c, &q(&[("level", "debug")]));
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("  router: debug\n") && body.contains("  wasm: debug\n"));
        let (status, body) = handle(&c, &q(&[("router", "trace")]));
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("  router: trace\n") && body.contains("  http: debug\n"));
        let (status, body) = handle(&c, &q(&[("paths", "http:info,upstream:error")]));
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("  http: info\n") && body.contains("  upstream: error\n"));
    }

    #[test]
    fn refusals_are_envoys_400_with_usage_and_the_list() {
        let c = control();
        for (params, message) in [
            (q(&[("level", "loud")]), "error: unknown logger level\n"),
            (q(&[("nope", "debug")]), "error: unknown logger name\n"),
            (
                q(&[("paths", "router")]),
                "error: empty logger name or empty logger level\n",
            ),
            (
                q(&[("level", "debug"), ("router", "info")]),
                "error: invalid number of parameters\n",
            ),
        ] {
            let (status, body) = handle(&c, &params);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{params:?}");
            assert!(body.starts_with(message), "{body}");
            assert!(body.contains(
                "levels: trace debug info warning error critical off \nactive loggers:\n"
            ));
        }
        assert_eq!(c.loggers(), Loggers::new(Level::Warning), "nothing changed");
    }
}
