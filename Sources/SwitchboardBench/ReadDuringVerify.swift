import EventStore
import Foundation
import Synchronization
import SwitchboardBasics

/// `--only verify_read --store PATH`: how long an API-sized read of the log takes while a verify walks
/// the whole chain of a big log, beside the same reads with nothing else running (the baseline). With
/// one read connection the reads waited for the whole walk; with the pool they should not notice it.
enum ReadDuringVerify {
    struct Result {
        var events: Int64
        var verifySeconds: Double
        var reads: Int
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
        var baselineP50Ms: Double
        var baselineP99Ms: Double
    }

    static func run(path: String) async throws -> Result {
        let store = try SQLiteEventStore.openForReading(path: path)
        defer { store.close() }
        let head = try await store.headPosition()
        let baseline = try await reads(store, head: head, count: 200) { false }
        let walking = Task { () throws -> Double in
            let start = now()
            _ = try await store.verify()
            return Double(now() - start) / 1e9
        }
        let verifying = Flag()
        let during = Task { try await reads(store, head: head, count: nil) { verifying.isSet } }
        let seconds = try await walking.value
        verifying.set()
        let latencies = try await during.value
        return Result(events: head, verifySeconds: seconds, reads: latencies.count, p50Ms: percentile(latencies, 0.5),
                      p99Ms: percentile(latencies, 0.99), maxMs: latencies.max() ?? 0,
                      baselineP50Ms: percentile(baseline, 0.5), baselineP99Ms: percentile(baseline, 0.99))
    }

    /// A page of 100 events at a spread of positions, one every 5 ms, `count` of them or until `stop`.
    static func reads(_ store: SQLiteEventStore, head: Int64, count: Int?, stop: () -> Bool) async throws -> [Double] {
        var latencies: [Double] = []
        var rng = SplitMix64(seed: 7)
        while count.map({ latencies.count < $0 }) ?? !stop() {
            let after = Int64(rng.next() % UInt64(max(1, head)))
            let start = now()
            _ = try await store.readAll(after: after, limit: 100)
            latencies.append(Double(now() - start) / 1e6)
            try await Task.sleep(for: .milliseconds(5))
        }
        return latencies
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }
}
