import CoreMetrics
import SwitchboardBasics

/// What the product measures about itself, through swift-metrics, with the factory the composition
/// root chooses: Prometheus behind `GET /metrics` in a server; nothing by default (tests, tools, the
/// benchmark). No process-wide `MetricsSystem.bootstrap`: two applications in one test process never
/// share a counter, and a test can read its own.
///
/// Names follow Prometheus (`switchboard_…_total` counters, `…_seconds` histograms); labels never carry
/// a person's number or a secret — a queue id or a route pattern at most.
public struct Measurements: Sendable {
    public let factory: any MetricsFactory
    /// The CPU time each part of the node spends (`/metrics` reads them at each scrape).
    public let work: WorkMeters

    public init(factory: any MetricsFactory, work: WorkMeters = WorkMeters()) {
        self.factory = factory
        self.work = work
    }

    /// Measures nothing.
    public static let none = Measurements(factory: NOOPMetricsHandler.instance)

    public func counter(_ name: String, _ dimensions: [(String, String)] = []) -> Counter {
        Counter(label: name, dimensions: dimensions, factory: factory)
    }

    /// A duration histogram (swift-metrics' `Timer`).
    public func timer(_ name: String, _ dimensions: [(String, String)] = []) -> Timer {
        Timer(label: name, dimensions: dimensions, factory: factory)
    }

    /// A histogram of values (an aggregating `Recorder`).
    public func histogram(_ name: String, _ dimensions: [(String, String)] = []) -> Recorder {
        Recorder(label: name, dimensions: dimensions, aggregate: true, factory: factory)
    }

    public func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> Gauge {
        Gauge(label: name, dimensions: dimensions, factory: factory)
    }
}

extension Measurements {
    /// The one catalogue of names, so a dashboard and the code cannot drift apart.
    public enum Name {
        public static let callsDialed = "switchboard_calls_dialed_total"
        public static let callsConnected = "switchboard_calls_connected_total"
        public static let callsAbandoned = "switchboard_calls_abandoned_total"
        public static let writeConflicts = "switchboard_write_conflicts_total"
        public static let failedAuthentications = "switchboard_failed_authentications_total"
        public static let slowConsumerCloses = "switchboard_feed_slow_consumer_closes_total"
        public static let supersededStates = "switchboard_feed_superseded_states_total"
        public static let appendSeconds = "switchboard_append_seconds"
        public static let commitEvents = "switchboard_commit_events"
        public static let answerToLastCancelSeconds = "switchboard_answer_to_last_cancel_seconds"
        public static let httpRequestSeconds = "switchboard_http_request_seconds"
        public static let feedDeliveryLagSeconds = "switchboard_feed_delivery_lag_seconds"
        public static let openSockets = "switchboard_feed_open_sockets"
        public static let queuedBytes = "switchboard_feed_queued_bytes"
        public static let carrierRequests = "switchboard_carrier_requests_total"
        public static let carrierRequestSeconds = "switchboard_carrier_request_seconds"
        public static let carrierAnswerToBridgeSeconds = "switchboard_carrier_answer_to_bridge_seconds"
        public static let carrierAnswerToCancelSeconds = "switchboard_carrier_answer_to_cancel_seconds"
        public static let workSeconds = "switchboard_work_seconds_total"
    }
}

extension Timer {
    /// Records the monotonic time since `start`.
    public func recordElapsed(since start: ContinuousClock.Instant) { record(ContinuousClock.now - start) }

    /// Records a duration (nanosecond precision).
    public func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
    }
}
