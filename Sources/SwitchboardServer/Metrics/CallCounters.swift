import CoreMetrics
import DialerCore
import Synchronization
import ReadModels
import WritePath

/// Calls dialled, connected to an agent and abandoned, by queue, counted from the log as the
/// projections fold it — the same facts the compliance report counts, so the two cannot disagree.
/// Counted from the moment the server starts, as Prometheus counters are.
final class CallCounters: Sendable {
    let measurements: Measurements
    private struct Key: Hashable {
        var name: String
        var queue: QueueID?
    }

    private let counters = Mutex<[Key: Counter]>([:])

    init(measurements: Measurements) { self.measurements = measurements }

    func start(following projections: ProjectionHost) async {
        _ = await projections.observeCommits { [self] _, events, state in
            for event in events {
                switch event {
                case .callDialed(let dialed): count(Measurements.Name.callsDialed, dialed.batchId, in: state)
                case .callConnected(let connected): count(Measurements.Name.callsConnected, connected.batchId, in: state)
                case .callAbandoned(let abandoned): count(Measurements.Name.callsAbandoned, abandoned.batchId, in: state)
                default: continue
                }
            }
        }
    }

    private func count(_ name: String, _ batch: BatchID, in state: DialerState) {
        let queue = state.batches[batch]?.queueId
        let key = Key(name: name, queue: queue)
        // One handle per (name, queue): the registry is asked once, the counter is an atomic after that.
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = measurements.counter(name, [("queue", queue?.rawValue ?? "unknown")])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }
}
