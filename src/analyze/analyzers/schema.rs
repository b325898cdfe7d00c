//! `schema.ValidationAnalyzer.<Kind>`: runs configuration validation (`crate::validation`, the
//! rules Istio's webhook applies) over each Istio object and reports errors as IST0106, warnings
//! as IST0133, and the VirtualService reachability findings as IST0130/IST0131. Bodies that did
//! not decode (unknown field, wrong type) are reported as IST0106 with a readable reason.

use crate::analyze::catalog::{IST0106, IST0130, IST0131, IST0133};
use crate::analyze::context::{Analyzer, Context};
use crate::analyze::message::{Arg, MessageType};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec, SpecError};
use crate::config::yaml::{Mark, Node, PathSeg, Value, split_path};
use crate::validation::{Analysis, Severity, validate};

macro_rules! schema_analyzers {
    ($($kind:ident),* $(,)?) => {
        /// One analyzer per Istio kind Ferry types, in Istio's collection order.
        pub const ANALYZERS: [Analyzer; [$(stringify!($kind)),*].len()] = [
            $(Analyzer {
                name: concat!("schema.ValidationAnalyzer.", stringify!($kind)),
                description: concat!(
                    "Runs schema validation as an analyzer on '",
                    stringify!($kind),
                    "' resources"
                ),
                inputs: &[Kind::$kind],
                reads: &[Kind::$kind],
                run: {
                    fn run(ctx: &mut Context<'_>) {
                        run_kind(ctx, Kind::$kind);
                    }
                    run
                },
            },)*
        ];
    };
}

schema_analyzers!(
    VirtualService,
    DestinationRule,
    Gateway,
    ServiceEntry,
    WorkloadEntry,
    WorkloadGroup,
    Sidecar,
    EnvoyFilter,
    PeerAuthentication,
    AuthorizationPolicy,
    RequestAuthentication,
    Telemetry,
);

fn run_kind(ctx: &mut Context<'_>, kind: Kind) {
    for r in ctx.of(kind) {
        if let Spec::Invalid(e) = &r.spec {
            let path = format!("{{.{}}}", e.path);
            report(ctx, &IST0106, r, Some(&path), &[describe(e).into()]);
            continue;
        }
        for f in validate(r) {
            let path = f.path.as_deref();
            match (&f.analysis, f.severity) {
                (Some(Analysis::UnreachableRule { rule, reason }), _) => report(
                    ctx,
                    &IST0130,
                    r,
                    path,
                    &[rule.clone().into(), reason.clone().into()],
                ),
                (Some(Analysis::IneffectiveMatch { rule, match_, dup }), _) => report(
                    ctx,
                    &IST0131,
                    r,
                    path,
                    &[
                        rule.clone().into(),
                        match_.clone().into(),
                        dup.clone().into(),
                    ],
                ),
                (None, Severity::Error) => report(ctx, &IST0106, r, path, &[f.message.into()]),
                (None, Severity::Warning) => report(ctx, &IST0133, r, path, &[f.message.into()]),
            }
        }
    }
}

/// Reports at the line of `path`, or of its nearest present parent when the field is absent.
///
/// The line lookup reads scalar values only, while findings often name a mapping or a list
/// item (`{.spec.servers[0]}`, an unknown `htp:` block). For those the message is built from a
/// copy of the object whose node at that path is replaced by a scalar placed at the field's key
/// line, so the reported line is the key's, not the document start.
fn report(
    ctx: &mut Context<'_>,
    typ: &'static MessageType,
    r: &Resource,
    path: Option<&str>,
    args: &[Arg],
) {
    let Some(path) = path else {
        ctx.report(typ, r, None, args);
        return;
    };
    let segs = split_path(path);
    for keep in (1..=segs.len()).rev() {
        let prefix = &segs[..keep];
        let Some((node, mark)) = walk(&r.node, prefix) else {
            continue;
        };
        let text = format!("{{{}}}", prefix.iter().map(seg_text).collect::<String>());
        if matches!(node.value, Value::Map(_) | Value::Seq(_)) {
            let mut copy = r.clone();
            if let Some(target) = walk_mut(&mut copy.node, prefix) {
                *target = Node {
                    value: Value::Null,
                    mark,
                };
            }
            ctx.report(typ, &copy, Some(&text), args);
        } else {
            ctx.report(typ, r, Some(&text), args);
        }
        return;
    }
    ctx.report(typ, r, None, args);
}

fn seg_text(s: &PathSeg<'_>) -> String {
    match s {
        PathSeg::Key(k) => format!(".{k}"),
        PathSeg::Index(i) => format!("[{i}]"),
    }
}

/// The node at `segs` and the position to report it at: its key's for a mapping entry, its own
/// for a list item.
fn walk<'n>(root: &'n Node, segs: &[PathSeg<'_>]) -> Option<(&'n Node, Mark)> {
    let mut node = root;
    let mut mark = root.mark;
    for seg in segs {
        node = match (seg, &node.value) {
            (PathSeg::Key(k), Value::Map(entries)) => {
                let e = entries.iter().find(|e| e.key == *k)?;
                mark = e.key_mark;
                &e.value
            }
            (PathSeg::Index(i), Value::Seq(items)) => {
                let item = items.get(*i)?;
                mark = item.mark;
                item
            }
            _ => return None,
        };
    }
    Some((node, mark))
}

fn walk_mut<'n>(root: &'n mut Node, segs: &[PathSeg<'_>]) -> Option<&'n mut Node> {
    let mut node = root;
    for seg in segs {
        node = match (seg, &mut node.value) {
            (PathSeg::Key(k), Value::Map(entries)) => {
                &mut entries.iter_mut().find(|e| e.key == *k)?.value
            }
            (PathSeg::Index(i), Value::Seq(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// serde's decode error in words a user reads: `unknown field "htp" at spec.htp`.
fn describe(e: &SpecError) -> String {
    let msg = e.message.as_str();
    let path = e.path.as_str();
    let unquote = |s: &str| s.replace('`', "\"");
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let field = rest.split(',').next().unwrap_or(rest);
        let expected = rest
            .split_once("expected one of ")
            .map(|(_, l)| format!(" (known fields: {})", l.replace('`', "")))
            .or_else(|| {
                rest.split_once("expected ")
                    .map(|(_, l)| format!(" (known field: {})", l.replace('`', "")))
            })
            .unwrap_or_default();
        return format!("unknown field {} at {path}{expected}", unquote(field));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let variant = rest.split(',').next().unwrap_or(rest);
        let expected = rest
            .split_once("expected one of ")
            .map(|(_, l)| format!(" (expected one of: {})", l.replace('`', "")))
            .unwrap_or_default();
        return format!("unknown field {} at {path}{expected}", unquote(variant));
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("missing field {} at {path}", unquote(rest));
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (got, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        return format!(
            "wrong type at {path}: got {}, expected {}",
            unquote(got),
            unquote(expected)
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        let (got, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another value"));
        return format!(
            "invalid value at {path}: got {}, expected {}",
            unquote(got),
            unquote(expected)
        );
    }
    format!("{} at {path}", unquote(msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    fn analyzer(kind: Kind) -> Analyzer {
        ANALYZERS
            .into_iter()
            .find(|a| a.inputs == [kind])
            .expect("an analyzer per kind")
    }

    #[test]
    fn names_and_descriptions() {
        assert_eq!(ANALYZERS.len(), 12);
        let vs = analyzer(Kind::VirtualService);
        assert_eq!(vs.name, "schema.ValidationAnalyzer.VirtualService");
        assert_eq!(
            vs.description,
            "Runs schema validation as an analyzer on 'VirtualService' resources"
        );
    }

    #[test]
    fn weight_error_points_at_the_weight() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: default
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
      weight: -10
    - destination:
        host: reviews
      weight: 20
";
        assert_eq!(
            lines(&analyzer(Kind::VirtualService), yaml),
            vec![
                "Error [IST0106] (VirtualService default/reviews test.yaml:13) Schema validation error: weight -10 < 0"
            ]
        );
    }

    #[test]
    fn valid_objects_are_quiet() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
";
        assert_eq!(run(&analyzer(Kind::DestinationRule), yaml), vec![]);
    }

    #[test]
    fn unknown_field_is_reported_at_its_line() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: default
spec:
  hosts: [reviews]
  http:
  - rout: x
";
        let out = lines(&analyzer(Kind::VirtualService), yaml);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].starts_with(
                "Error [IST0106] (VirtualService default/reviews test.yaml:9) Schema validation error: unknown field \"rout\" at spec.http[0].rout (known fields: "
            ),
            "{out:?}"
        );
    }

    #[test]
    fn unknown_block_is_reported_at_its_key() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: typo
  namespace: default
spec:
  hosts:
  - reviews
  htp:
  - route:
    - destination:
        host: reviews
";
        assert_eq!(
            lines(&analyzer(Kind::VirtualService), yaml),
            vec![
                "Error [IST0106] (VirtualService default/typo test.yaml:9) Schema validation error: unknown field \"htp\" at spec.htp (known fields: hosts, gateways, http, tls, tcp, exportTo)"
            ]
        );
    }

    #[test]
    fn missing_field_falls_back_to_its_parent() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  servers:
  - hosts: ['*.example.com']
    port:
      number: 443
      name: https
      protocol: HTTPS
";
        assert_eq!(
            lines(&analyzer(Kind::Gateway), yaml),
            vec![
                "Error [IST0106] (Gateway default/gw test.yaml:6) Schema validation error: server must have TLS settings for HTTPS/TLS protocols"
            ]
        );
    }

    #[test]
    fn wrong_type_is_reported() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: lots
";
        let out = lines(&analyzer(Kind::DestinationRule), yaml);
        assert_eq!(
            out,
            vec![
                "Error [IST0106] (DestinationRule default/r test.yaml:9) Schema validation error: wrong type at spec.trafficPolicy.connectionPool.tcp.maxConnections: got string \"lots\", expected i64"
            ]
        );
    }

    #[test]
    fn warnings_are_ist0133() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  servers:
  - port: {number: 9000, name: tcp, protocol: TCP}
    hosts: ['*']
    tls:
      httpsRedirect: true
";
        let out = lines(&analyzer(Kind::Gateway), yaml);
        assert_eq!(
            out,
            vec![
                "Error [IST0106] (Gateway default/gw test.yaml:8) Schema validation error: server cannot have TLS settings for non HTTPS/TLS ports",
                "Warning [IST0133] (Gateway default/gw test.yaml:9) Schema validation warning: tls.httpsRedirect should only be used with http servers",
            ]
        );
    }

    #[test]
    fn unreachable_and_ineffective_rules() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: dup, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: first
    match:
    - uri:
        exact: /a
    route:
    - destination: {host: reviews}
  - match:
    - uri:
        exact: /a
    route:
    - destination: {host: reviews}
";
        assert_eq!(
            run(&analyzer(Kind::VirtualService), yaml),
            vec![
                pair("IST0130", "VirtualService default/dup"),
                pair("IST0131", "VirtualService default/dup"),
            ]
        );
        assert_eq!(
            lines(&analyzer(Kind::VirtualService), yaml),
            vec![
                "Info [IST0131] (VirtualService default/dup test.yaml:14) VirtualService rule #1 match #0 is not used (duplicate/overlapping match in rule \"first\").",
                "Warning [IST0130] (VirtualService default/dup test.yaml:13) VirtualService rule #1 not used (all matches used by prior rules).",
            ]
        );
    }

    #[test]
    fn security_kinds() {
        let yaml = "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: foo}
spec:
  action: DENY
";
        assert_eq!(
            lines(&analyzer(Kind::AuthorizationPolicy), yaml),
            vec![
                "Error [IST0106] (AuthorizationPolicy foo/deny-all test.yaml:5) Schema validation error: invalid policy deny-all.foo: DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request"
            ]
        );
    }
}
