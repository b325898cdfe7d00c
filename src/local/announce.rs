//! The lines `ferryctl discovery` and `ferryctl proxy` write to stderr for whoever supervises
//! them (`local::supervisor` reads them from the component's log): where they listen, and that a
//! proxy handed its sockets to a successor. Printer and reader share these functions, so the
//! wording cannot drift apart. Each line is one `write` (`eprintln!` writes its pieces
//! separately, and two proxies may write one log at once).

use std::io::Write as _;
use std::net::SocketAddr;

const DISCOVERY: &str = "ferryctl discovery: xDS (ADS) on ";
const DEBUG: &str = ", debug on ";
const PROXY: &str = "ferryctl proxy: admin on ";
const HANDED_OVER: &str = "ferryctl proxy: handed over to a new proxy; draining";

/// Writes `line` and a newline to stderr in one write.
pub fn say(line: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("{line}\n").as_bytes());
}

/// The control plane's: its xDS and debug addresses.
pub fn discovery(xds: SocketAddr, debug: SocketAddr) -> String {
    format!("{DISCOVERY}{xds}{DEBUG}{debug}")
}

/// The addresses in the first [`discovery`] line of `text`.
pub fn find_discovery(text: &str) -> Option<(SocketAddr, SocketAddr)> {
    text.lines().find_map(|l| {
        let (xds, debug) = l.strip_prefix(DISCOVERY)?.split_once(DEBUG)?;
        Some((xds.trim().parse().ok()?, debug.trim().parse().ok()?))
    })
}

/// A proxy's: its admin address, and the control plane it asks.
pub fn proxy(admin: SocketAddr, discovery: &str) -> String {
    format!("{PROXY}{admin}, discovery at {discovery}")
}

/// The admin address in the first [`proxy`] line of `text`.
pub fn find_proxy(text: &str) -> Option<SocketAddr> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(PROXY)?;
        rest.split(',').next()?.trim().parse().ok()
    })
}

/// A proxy's last line after a successor took over its sockets: its exit is not a crash.
pub fn handed_over(pid: u32) -> String {
    format!("{HANDED_OVER} (pid {pid})")
}

/// Whether `text` holds proxy `pid`'s [`handed_over`] line.
pub fn find_handed_over(text: &str, pid: u32) -> bool {
    let line = handed_over(pid);
    text.lines().any(|l| l == line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_printed_is_found() {
        let a: SocketAddr = "127.0.0.1:15010".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:15014".parse().expect("addr");
        let log = format!("noise\n{}\n{}\n", discovery(a, b), proxy(b, "127.0.0.1:1"));
        assert_eq!(find_discovery(&log), Some((a, b)));
        assert_eq!(find_proxy(&log), Some(b));
        let log = format!("{}\nother\n", handed_over(42));
        assert!(find_handed_over(&log, 42));
        assert!(!find_handed_over(&log, 4));
        assert!(!find_handed_over(&log, 420));
    }
}
