//! Prometheus metrics without a metrics dependency: lock-free counters, gauges and fixed-bucket
//! histograms, and the text exposition format (version 0.0.4) that `/metrics` serves.
//!
//! The components keep their own metric values (the xDS server in [`crate::xds::metrics`], the
//! control plane in `ferryctl discovery`) and write them with an [`Exposition`] when scraped, so
//! there is no global registry to get out of step with what is actually counted.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub const fn new() -> Gauge {
        Gauge(AtomicI64::new(0))
    }

    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A distribution over fixed upper bounds (Prometheus' `le`), in seconds for durations.
///
/// Each observation touches one bucket, the count and the sum; the cumulative counts Prometheus
/// expects are computed when scraped, which is rare next to observations.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, plus the `+Inf` bucket; not cumulative.
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    /// `f64` bits: there is no atomic float, and a compare-and-swap loop on the bits is exact.
    sum: AtomicU64,
}

impl Histogram {
    /// A histogram over `bounds`, which must be increasing.
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bounds increase");
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn observe(&self, value: f64) {
        let index = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }

    pub fn observe_duration(&self, duration: Duration) {
        self.observe(duration.as_secs_f64());
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }

    /// `(le, cumulative count)` per bound, ending with `+Inf`.
    fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut total = 0;
        self.bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.buckets.iter())
            .map(|(le, n)| {
                total += n.load(Ordering::Relaxed);
                (le, total)
            })
            .collect()
    }
}

/// The type line of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Writes the text exposition format: a family's `# HELP` and `# TYPE` lines, then its samples.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts a family. Its samples must follow before the next family starts.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) -> &mut Exposition {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// One sample: `name{labels} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Exposition {
        self.text.push_str(name);
        write_labels(&mut self.text, labels, None);
        self.text.push(' ');
        self.text.push_str(&format_value(value));
        self.text.push('\n');
        self
    }

    /// A histogram's `_bucket`, `_sum` and `_count` samples.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        histogram: &Histogram,
    ) -> &mut Exposition {
        // Read the buckets first: an observation landing meanwhile may then show in the count
        // and not yet in a bucket, never the reverse (`+Inf` ≤ `_count`, as scrapers expect).
        let cumulative = histogram.cumulative();
        for (le, count) in cumulative {
            let _ = write!(self.text, "{name}_bucket");
            write_labels(&mut self.text, labels, Some(&format_value(le)));
            let _ = writeln!(self.text, " {count}");
        }
        let sum = histogram.sum();
        let count = histogram.count();
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, count as f64);
        self
    }

    pub fn finish(self) -> String {
        self.text
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
    for (i, (name, value)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` spelling where it matters to scrapers: integral
/// values without a fraction, `+Inf`, `-Inf`, `NaN`.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{value}")
    }
}

/// The standard `process_*` metrics Prometheus' client libraries export, for this process.
#[derive(Debug, Clone, Copy)]
pub struct ProcessMetrics {
    pub start_time: SystemTime,
}

impl ProcessMetrics {
    pub fn encode(&self, out: &mut Exposition) {
        let start = self
            .start_time
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        out.family(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            Kind::Gauge,
        )
        .sample("process_start_time_seconds", &[], start);
        // /proc/self/status gives kB; statm gives pages, whose size needs libc's sysconf.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = |key: &str| -> Option<f64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
                .map(|n| n * 1024.0)
        };
        if let Some(rss) = kb("VmRSS:") {
            out.family(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Kind::Gauge,
            )
            .sample("process_resident_memory_bytes", &[], rss);
        }
        if let Some(vm) = kb("VmSize:") {
            out.family(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Kind::Gauge,
            )
            .sample("process_virtual_memory_bytes", &[], vm);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            out.family(
                "process_open_fds",
                "Number of open file descriptors.",
                Kind::Gauge,
            )
            .sample("process_open_fds", &[], fds.count() as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_write_help_type_and_labelled_samples() {
        let pushes = Counter::new();
        pushes.add(3);
        let connected = Gauge::new();
        connected.inc();
        connected.inc();
        connected.dec();
        let mut out = Exposition::new();
        out.family("pilot_xds_pushes", "Pushes.", Kind::Counter)
            .sample("pilot_xds_pushes", &[("type", "cds")], pushes.get() as f64)
            .family("pilot_xds", "Connected\nproxies.", Kind::Gauge)
            .sample(
                "pilot_xds",
                &[("version", "1.\"2\"\\")],
                connected.get() as f64,
            )
            .sample("pilot_xds", &[], 0.5);
        assert_eq!(
            out.finish(),
            "# HELP pilot_xds_pushes Pushes.\n\
             # TYPE pilot_xds_pushes counter\n\
             pilot_xds_pushes{type=\"cds\"} 3\n\
             # HELP pilot_xds Connected\\nproxies.\n\
             # TYPE pilot_xds gauge\n\
             pilot_xds{version=\"1.\\\"2\\\"\\\\\"} 1\n\
             pilot_xds 0.5\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        // Binary fractions, so the sum is exact.
        let h = Histogram::new(&[0.125, 0.5, 1.0]);
        for v in [0.0625, 0.125, 0.25, 2.0] {
            h.observe(v);
        }
        h.observe_duration(Duration::from_millis(750));
        let mut out = Exposition::new();
        out.family("t", "T.", Kind::Histogram)
            .histogram("t", &[("type", "rds")], &h);
        let text = out.finish();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "# HELP t T.",
                "# TYPE t histogram",
                "t_bucket{type=\"rds\",le=\"0.125\"} 2",
                "t_bucket{type=\"rds\",le=\"0.5\"} 3",
                "t_bucket{type=\"rds\",le=\"1\"} 4",
                "t_bucket{type=\"rds\",le=\"+Inf\"} 5",
                "t_sum{type=\"rds\"} 3.1875",
                "t_count{type=\"rds\"} 5",
            ]
        );
    }

    #[test]
    fn values_use_prometheus_spellings() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.01), "0.01");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
    }

    #[test]
    fn process_metrics_report_memory_and_start_time() {
        let mut out = Exposition::new();
        ProcessMetrics {
            start_time: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
        .encode(&mut out);
        let text = out.finish();
        assert!(
            text.contains("process_start_time_seconds 1700000000\n"),
            "{text}"
        );
        if cfg!(target_os = "linux") {
            let rss = text
                .lines()
                .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
                .and_then(|v| v.parse::<f64>().ok())
                .expect("an RSS sample on Linux");
            assert!(rss > 0.0, "{text}");
        }
    }
}
