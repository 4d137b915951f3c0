//! Prometheus metrics (`GET /metrics`, text exposition format), with the
//! `prometheus-client` crate.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::status::EndReason;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HostLabel {
    pub host: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

pub struct Metrics {
    registry: Registry,
    pub sessions_live: Gauge,
    /// Live sessions with a node on each host, where the backend has several.
    pub sessions_per_host: Family<HostLabel, Gauge>,
    pub sessions_started: Counter,
    pub sessions_failed: Counter,
    pub sessions_ended: Family<ReasonLabel, Counter>,
    pub session_start_seconds: Histogram,
    pub terminals_open: Gauge,
    pub checks: Family<ResultLabel, Counter>,
    pub warm_pool_ready: Gauge,
    pub recordings_stopped: Family<ReasonLabel, Counter>,
    pub recording_dropped_events: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("playlab");
        let m = Metrics {
            sessions_live: Gauge::default(),
            sessions_per_host: Family::default(),
            sessions_started: Counter::default(),
            sessions_failed: Counter::default(),
            sessions_ended: Family::default(),
            session_start_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            terminals_open: Gauge::default(),
            checks: Family::default(),
            warm_pool_ready: Gauge::default(),
            recordings_stopped: Family::default(),
            recording_dropped_events: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sessions_live",
            "Sessions starting or ready",
            m.sessions_live.clone(),
        );
        registry.register(
            "sessions_per_host",
            "Live sessions with a node on the host (a swarm's hosts)",
            m.sessions_per_host.clone(),
        );
        registry.register(
            "sessions_started",
            "Sessions created",
            m.sessions_started.clone(),
        );
        registry.register(
            "sessions_failed",
            "Sessions whose environment failed to start",
            m.sessions_failed.clone(),
        );
        registry.register(
            "sessions_ended",
            "Sessions ended, by reason",
            m.sessions_ended.clone(),
        );
        registry.register(
            "session_start_seconds",
            "Time from request to a ready environment",
            m.session_start_seconds.clone(),
        );
        registry.register(
            "terminals_open",
            "Shells open on nodes",
            m.terminals_open.clone(),
        );
        registry.register("checks", "Step checks run, by result", m.checks.clone());
        registry.register(
            "warm_pool_ready",
            "Pre-started environments waiting for a learner",
            m.warm_pool_ready.clone(),
        );
        registry.register(
            "recordings_stopped",
            "Recordings stopped before their terminal closed (size_cap, write_failed)",
            m.recordings_stopped.clone(),
        );
        registry.register(
            "recording_dropped_events",
            "Terminal events not recorded because the writer fell behind",
            m.recording_dropped_events.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Counts a session that ended, under its reason.
    pub fn session_ended(&self, reason: &EndReason) {
        let label = ReasonLabel {
            reason: reason.to_string(),
        };
        self.sessions_ended.get_or_create(&label).inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
