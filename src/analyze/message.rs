//! Analysis messages: a type from the catalog, its arguments, and the object and line it is about.

use std::fmt;

use serde::Serialize;

use crate::config::resource::Resource;

/// Severity, ordered as istioctl sorts: errors first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "Error",
            Level::Warning => "Warning",
            Level::Info => "Info",
        }
    }

    /// Parses istioctl's threshold names, case-insensitively.
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "info" => Some(Level::Info),
            _ => None,
        }
    }

    /// Whether this level is at least as severe as `threshold`.
    pub fn at_least(self, threshold: Level) -> bool {
        self <= threshold
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the message catalog.
#[derive(Debug, PartialEq, Eq)]
pub struct MessageType {
    pub code: &'static str,
    pub name: &'static str,
    pub level: Level,
    pub description: &'static str,
    pub template: &'static str,
    pub args: &'static [&'static str],
}

/// The object a message is about, as it prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageOrigin {
    /// `<Kind> <ns>/<name>` or `<Kind> <name>`.
    pub friendly_name: String,
    /// `Kind/name/namespace`: istioctl's sort key.
    pub comparator: String,
    pub namespace: Option<String>,
    pub cluster_scoped: bool,
    pub file: String,
    /// Line of the field the message is about, else of the document start.
    pub line: u32,
    /// Annotation the object carries to silence codes (`galley.istio.io/analyze-suppress`).
    pub suppress: Option<String>,
}

/// A rendered finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub typ: &'static MessageType,
    pub text: String,
    pub origin: Option<MessageOrigin>,
}

/// Annotation that suppresses messages on one object (a comma-separated list of codes, or `*`).
pub const SUPPRESS_ANNOTATION: &str = "galley.istio.io/analyze-suppress";

impl Message {
    /// A message about `resource`, at the line of `path` when that field exists.
    pub fn new(
        typ: &'static MessageType,
        resource: &Resource,
        path: Option<&str>,
        args: &[Arg],
    ) -> Message {
        let line = path
            .and_then(|p| resource.line_of(p))
            .unwrap_or(resource.origin.line);
        Message {
            typ,
            text: render(typ.template, args),
            origin: Some(MessageOrigin {
                friendly_name: resource.friendly_name(),
                comparator: format!(
                    "{}/{}/{}",
                    resource.kind.name(),
                    resource.name(),
                    resource.namespace().unwrap_or_default()
                ),
                namespace: resource.namespace().map(str::to_string),
                cluster_scoped: resource.kind.cluster_scoped(),
                file: resource.origin.file.to_string(),
                line,
                suppress: resource.annotations().get(SUPPRESS_ANNOTATION).cloned(),
            }),
        }
    }

    /// `file:line`, as istioctl prints it (JSON files print no line).
    pub fn reference(&self) -> Option<String> {
        let o = self.origin.as_ref()?;
        if o.file.is_empty() {
            return None;
        }
        if o.file.ends_with(".json") || o.line == 0 {
            return Some(o.file.clone());
        }
        Some(format!("{}:{}", o.file, o.line))
    }

    /// The log line without colors: `Error [IST0101] (Kind ns/name file:line) text`.
    pub fn plain(&self) -> String {
        self.render_line(false)
    }

    pub fn render_line(&self, color: bool) -> String {
        let level = self.typ.level.as_str();
        let level = match (color, self.typ.level) {
            (true, Level::Error) => format!("\x1b[1;31m{level}\x1b[0m"),
            (true, Level::Warning) => format!("\x1b[33m{level}\x1b[0m"),
            _ => level.to_string(),
        };
        match &self.origin {
            Some(o) => {
                let reference = self
                    .reference()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default();
                format!(
                    "{level} [{}] ({}{reference}) {}",
                    self.typ.code, o.friendly_name, self.text
                )
            }
            None => format!("{level} [{}] {}", self.typ.code, self.text),
        }
    }
}

/// A template argument.
#[derive(Debug, Clone)]
pub enum Arg {
    Str(String),
    Int(i64),
    List(Vec<String>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Str(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Str(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Str(s.clone())
    }
}

impl From<i64> for Arg {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

impl From<u32> for Arg {
    fn from(i: u32) -> Self {
        Arg::Int(i64::from(i))
    }
}

impl From<Vec<String>> for Arg {
    fn from(v: Vec<String>) -> Self {
        Arg::List(v)
    }
}

/// Go's `strconv.Quote` for the characters that occur in config.
pub fn go_quote(s: &str) -> String {
    crate::config::emit::double_quoted(s)
}

/// Formats a Go `fmt` template with `%s %v %q %d %%` verbs.
pub fn render(template: &str, args: &[Arg]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut args = args.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(verb) = chars.next() else {
            out.push('%');
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.next() {
            None => out.push_str(&format!("%!{verb}(MISSING)")),
            Some(arg) => match (verb, arg) {
                ('q', Arg::Str(s)) => out.push_str(&go_quote(s)),
                ('q', Arg::List(v)) => {
                    let items: Vec<String> = v.iter().map(|s| go_quote(s)).collect();
                    out.push_str(&format!("[{}]", items.join(" ")));
                }
                (_, Arg::Str(s)) => out.push_str(s),
                (_, Arg::Int(i)) => out.push_str(&i.to_string()),
                (_, Arg::List(v)) => out.push_str(&format!("[{}]", v.join(" "))),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_verbs_render() {
        assert_eq!(
            render(
                "Referenced %s not found: %q",
                &["host".into(), "reviews".into()]
            ),
            "Referenced host not found: \"reviews\""
        );
        assert_eq!(render("%d%%", &[Arg::Int(90)]), "90%");
        assert_eq!(render("%s", &[]), "%!s(MISSING)");
        assert_eq!(
            render("%v", &[Arg::List(vec!["a".into(), "b".into()])]),
            "[a b]"
        );
    }

    #[test]
    fn levels_order_errors_first() {
        assert!(Level::Error < Level::Warning && Level::Warning < Level::Info);
        assert!(Level::Error.at_least(Level::Warning));
        assert!(!Level::Info.at_least(Level::Warning));
    }
}
