import CoreMetrics
import Prometheus
import Synchronization
import ReadModels
import WritePath
import WebTransport
import SwitchboardBasics

/// The application's own Prometheus registry (never the process-wide default: two applications in
/// one process keep their own), the `Measurements` made into it, and the text `GET /metrics` answers —
/// with the transport's sockets read at the moment of the scrape.
final class MetricsExposition: Sendable {
    let registry = PrometheusCollectorRegistry()
    let measurements: Measurements
    private let openSockets: CoreMetrics.Gauge
    private let queuedBytes: CoreMetrics.Gauge
    private let slowConsumerCloses: CoreMetrics.Counter
    private let supersededStates: CoreMetrics.Counter
    /// The transport, once it exists (it is built after the API it serves), and the slow-consumer
    /// closes and superseded states already counted from it (its counts are cumulative; the counters
    /// move by the difference).
    private let transport = Mutex<(statistics: TransportStatistics?, counted: Int, superseded: Int)>((nil, 0, 0))

    /// Each stage's CPU seconds already counted (the meters are cumulative; the counters move by the difference).
    private let work: Mutex<[(stage: String, meter: WorkMeter, counter: CoreMetrics.FloatingPointCounter, counted: Double)]>

    init(work: WorkMeters = WorkMeters()) {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Sub-millisecond work gets buckets that can tell 50 µs from 5 ms, and the dialling path's 5 ms goal
        // a bucket each side.
        let fine: [Duration] = [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                                .milliseconds(2), .milliseconds(3), .milliseconds(4), .milliseconds(5), .microseconds(7500),
                                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                .seconds(1)]
        for name in [Measurements.Name.answerToLastCancelSeconds, Measurements.Name.appendSeconds,
                     Measurements.Name.httpRequestSeconds, Measurements.Name.feedDeliveryLagSeconds] {
            factory.durationHistogramBuckets[name] = fine
        }
        factory.valueHistogramBuckets[Measurements.Name.commitEvents] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        measurements = Measurements(factory: factory, work: work)
        let counters = work.stages.map { stage in
            (stage.stage, stage.meter, CoreMetrics.FloatingPointCounter(label: Measurements.Name.workSeconds, dimensions: [("stage", stage.stage)],
                                                                     factory: factory), 0.0)
        }
        self.work = Mutex(counters)
        openSockets = measurements.gauge(Measurements.Name.openSockets)
        queuedBytes = measurements.gauge(Measurements.Name.queuedBytes)
        slowConsumerCloses = measurements.counter(Measurements.Name.slowConsumerCloses)
        supersededStates = measurements.counter(Measurements.Name.supersededStates)
    }

    func attach(_ statistics: TransportStatistics) { transport.withLock { $0.statistics = statistics } }

    func render() -> [UInt8] {
        work.withLock { stages in
            for index in stages.indices {
                let seconds = stages[index].meter.seconds
                if seconds > stages[index].counted { stages[index].counter.increment(by: seconds - stages[index].counted) }
                stages[index].counted = max(stages[index].counted, seconds)
            }
        }
        transport.withLock { transport in
            guard let statistics = transport.statistics else { return }
            openSockets.record(statistics.openWebSockets)
            queuedBytes.record(statistics.queuedBytes)
            let closes = statistics.slowConsumerCloses
            if closes > transport.counted { slowConsumerCloses.increment(by: Int64(closes - transport.counted)) }
            transport.counted = max(transport.counted, closes)
            let superseded = statistics.supersededStates
            if superseded > transport.superseded { supersededStates.increment(by: Int64(superseded - transport.superseded)) }
            transport.superseded = max(transport.superseded, superseded)
        }
        return registry.emitToBuffer()
    }
}
