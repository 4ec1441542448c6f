import Metrics

/// The relay's counters (swift-metrics). With `--metrics` the relay serves them in Prometheus's
/// text format at `GET /metrics`:
///
/// - `edgenode_relay_envelopes_total{outcome="stored|duplicate|refused", reason="…"}` — pushed envelopes;
/// - `edgenode_relay_problems_total{kind="…"}` — requests answered with a problem, by kind;
/// - `edgenode_relay_pulls_total{woken="true|false"}` — pulls, and whether a long-poll was woken by a push.
final class RelayMetrics: Sendable {
    let factory: any MetricsFactory

    init(factory: any MetricsFactory) { self.factory = factory }

    func envelope(_ status: PushResult.Status, reason: String?) {
        Counter(label: "edgenode_relay_envelopes_total", dimensions: [("outcome", status.rawValue), ("reason", reason ?? "")], factory: factory).increment()
    }

    func problem(_ kind: RelayError.Kind) {
        Counter(label: "edgenode_relay_problems_total", dimensions: [("kind", kind.description)], factory: factory).increment()
    }

    func pull(woken: Bool) {
        Counter(label: "edgenode_relay_pulls_total", dimensions: [("woken", woken ? "true" : "false")], factory: factory).increment()
    }
}
