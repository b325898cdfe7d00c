//! YAML output in the style of sigs.k8s.io/yaml (what istioctl and kubectl print): block style,
//! two-space indent, list items not indented under their key, keys in the order given, strings
//! quoted only when they would read back as something else.

use serde_json::Value;

/// Renders `value` as a YAML document ending in a newline.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Array(items) if items.is_empty() => out.push_str("[]\n"),
        Value::Object(map) if map.is_empty() => out.push_str("{}\n"),
        Value::Array(_) | Value::Object(_) => write_block(&mut out, value, 0),
        scalar => {
            write_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_block(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                indent(out, level);
                write_string(out, k, level);
                out.push(':');
                write_child(out, v, level, false);
            }
        }
        Value::Array(items) => {
            for v in items {
                indent(out, level);
                out.push('-');
                write_child(out, v, level, true);
            }
        }
        _ => {}
    }
}

/// Writes the value after `key:` or `-`. Sequences under a key are not indented (go-yaml style);
/// mappings inside a list item start on the dash's line.
fn write_child(out: &mut String, v: &Value, level: usize, in_seq: bool) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            if in_seq {
                out.push(' ');
                let mut first = true;
                for (k, val) in map {
                    if !first {
                        indent(out, level + 2);
                    }
                    first = false;
                    write_string(out, k, level + 2);
                    out.push(':');
                    write_child(out, val, level + 2, false);
                }
            } else {
                out.push('\n');
                write_block(out, v, level + 2);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_block(out, v, if in_seq { level + 2 } else { level });
        }
        Value::Object(_) => out.push_str(" {}\n"),
        Value::Array(_) => out.push_str(" []\n"),
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, level);
            out.push('\n');
        }
    }
}

fn write_scalar(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s, level),
        _ => {}
    }
}

fn write_string(out: &mut String, s: &str, level: usize) {
    if s.contains('\n') && !s.contains(['\t', '\r']) && !s.starts_with(' ') {
        // Literal block, as go-yaml emits multi-line strings.
        out.push_str(if s.ends_with('\n') { "|" } else { "|-" });
        for line in s.trim_end_matches('\n').split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, level + 2);
                out.push_str(line);
            }
        }
        return;
    }
    // As go-yaml: strings that would read back as another type are double-quoted; strings that
    // are only unsafe as plain scalars are single-quoted; control characters force double quotes.
    let reads_as_other = !matches!(
        crate::config::yaml::resolve_plain(s),
        crate::config::yaml::Value::String(_)
    );
    if reads_as_other || s.chars().any(|c| c.is_control()) {
        out.push_str(&double_quoted(s));
    } else if needs_quotes(s) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push_str(s);
    }
}

/// A double-quoted string with Go's escapes (`strconv.Quote` for the characters config holds);
/// also what `%q` renders in analysis messages.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    if !matches!(
        crate::config::yaml::resolve_plain(s),
        crate::config::yaml::Value::String(_)
    ) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // A lone leading dash or colon followed by a letter is fine in go-yaml, but quoting is
        // always safe and rare here.
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_of_maps_look_like_kubectl() {
        let v = json!([{"code": "IST0101", "level": "Error", "args": ["a", "b"], "num": 3}]);
        assert_eq!(
            to_string(&v),
            "- code: IST0101\n  level: Error\n  args:\n  - a\n  - b\n  num: 3\n"
        );
    }

    #[test]
    fn nested_maps_indent_two_spaces() {
        let v = json!({"clientVersion": {"version": "0.1.0", "status": "Clean"}});
        assert_eq!(
            to_string(&v),
            "clientVersion:\n  version: 0.1.0\n  status: Clean\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        let v = json!({"a": "true", "b": "80", "c": "", "d": "x: y", "e": "*.example.com"});
        assert_eq!(
            to_string(&v),
            "a: \"true\"\nb: \"80\"\nc: \"\"\nd: 'x: y'\ne: '*.example.com'\n"
        );
    }

    #[test]
    fn empty_collections() {
        assert_eq!(to_string(&json!([])), "[]\n");
        assert_eq!(to_string(&json!({"a": []})), "a: []\n");
    }

    #[test]
    fn multi_line_strings_use_literal_blocks() {
        let v = json!({"m": "one\ntwo"});
        assert_eq!(to_string(&v), "m: |-\n  one\n  two\n");
    }
}
