import DialerCore
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardBasics

/// The auditor's reads on a big log: a session's state at random positions (folded from the
/// session's own events, found by the correlation index) and a session's whole timeline — each
/// beside the baseline a store without the index would pay: a fold of the whole prefix, a scan.
enum AuditBenchmark {
    struct Figures {
        var events: Int
        var sessions: Int
        var atP50: Double, atP99: Double, atSamples: Int
        var atBaselineMs: Double
        var timelineP50: Double, timelineP99: Double, timelineSamples: Int, timelineEventsAvg: Double
        var timelineBaselineMs: Double
    }

    static func run(events: Int, in directory: URL) async throws -> Figures {
        let path = ProcessInfo.processInfo.environment["SWITCHBOARD_AUDIT_LOG"] ?? directory.appendingPathComponent("audit.sqlite").path
        if !FileManager.default.fileExists(atPath: path) {
            let store = try SQLiteEventStore(path: path)
            try await DialerLogGenerator.fill(store, events: events, batchesPerShift: 100)
            store.close()
        }
        let store = try SQLiteEventStore(path: path)
        defer { store.close() }
        let audit = Audit(store: store)
        let head = try await store.headPosition()
        // Every session and the positions it lived between.
        var lives: [SessionID: (start: Int64, end: Int64)] = [:]
        for try await event in store.events() where event.stream.hasPrefix("session-") {
            let id = SessionID(String(event.stream.dropFirst("session-".count)))
            if event.type == SessionStarted.type.rawValue { lives[id] = (event.position, head) }
            if event.type == SessionEnded.type.rawValue { lives[id]?.end = event.position }
        }
        let sessions = lives.keys.sorted()
        var rng = SplitMix64(seed: 11)

        var at: [Double] = []
        for _ in 0..<300 {
            let session = sessions[Int(rng.next() % UInt64(sessions.count))]
            guard let life = lives[session] else { continue }
            let position = life.start + Int64(rng.next() % UInt64(max(1, life.end - life.start + 1)))
            let began = now()
            let state = try await audit.sessionState(session, at: position)
            at.append(Double(now() - began) / 1e6)
            guard state.sessions[session] != nil else { throw BenchError("no session \(session) at \(position)") }
        }
        var baselineAt: [Double] = []
        for _ in 0..<3 {
            let position = Int64(rng.next() % UInt64(head)) + 1
            let began = now()
            _ = try await audit.state(at: position)
            baselineAt.append(Double(now() - began) / 1e6)
        }

        var timeline: [Double] = []
        var counted = 0
        for _ in 0..<100 {
            let session = sessions[Int(rng.next() % UInt64(sessions.count))]
            let began = now()
            var after: Int64 = 0
            while true {
                let page = try await audit.timeline(of: session, after: after, limit: 1000)
                guard let last = page.last else { break }
                counted += page.count
                after = last.position
            }
            timeline.append(Double(now() - began) / 1e6)
        }
        // Without the index: one pass over the log, keeping the session's events.
        let target = sessions[0].rawValue
        let began = now()
        var kept = 0
        for try await event in store.events() where event.correlationId == target { kept += 1 }
        let baselineTimeline = Double(now() - began) / 1e6
        guard kept > 0 else { throw BenchError("the baseline found no events") }

        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        return Figures(events: Int(head), sessions: sessions.count,
                       atP50: percentile(at, 0.5), atP99: percentile(at, 0.99), atSamples: at.count,
                       atBaselineMs: percentile(baselineAt, 0.5),
                       timelineP50: percentile(timeline, 0.5), timelineP99: percentile(timeline, 0.99),
                       timelineSamples: timeline.count, timelineEventsAvg: Double(counted) / Double(max(1, timeline.count)),
                       timelineBaselineMs: baselineTimeline)
    }
}
