import Foundation
import Synchronization
import SwitchboardJSON
import WebTransport
import SwitchboardBasics

/// The fan-out figure's subscriber side: `--only fanout-client` opens N feed subscriptions with the
/// `FrameReader` and measures, for every event message, the time from the event's
/// `time` (taken by the server just before the append) to its receipt here. The same client measures
/// the bare broadcaster (`switchboard-bench broadcaster`), whose messages carry their send time there.
///
/// The envelope's time has millisecond resolution, so each sample reads up to 1 ms high.
enum FanoutClient {
    struct Figures {
        /// Latencies of connections subscribed to everything, and of the others (one agent's topics).
        var allTopicsMs: [Double] = []
        var ownTopicsMs: [Double] = []
        var report: FrameReader.Report
        /// Events stamped before every subscriber was connected and caught up (`warmUpMs`): not counted.
        var skippedCatchUp = 0
        /// What arrived, for the baseline to send the same: event and state messages and their bytes.
        var eventMessages = 0, eventBytes = 0, stateMessages = 0, stateBytes = 0
    }

    /// `topics`: one subscription per connection, used in turn (`all`, or e.g. `session:s-1`).
    /// Samples stamped within `warmUpMs` after the last connection are left out (and counted).
    static let warmUpMs = 2000.0

    /// `clockOffsetMs`: how far the server's clock is shifted (`serve --clock-offset-hours`), taken off
    /// each event's stamp so a latency compares two readings of one clock.
    static func run(port: Int, connections: Int, seconds: Double, after: Int64, topics: [String], token: String?,
                    clockOffsetMs: Double = 0) -> Figures {
        var samples: [(stampMs: Double, latencyMs: Double, all: Bool)] = []
        samples.reserveCapacity(1 << 20)
        var counts = (events: 0, eventBytes: 0, states: 0, stateBytes: 0)
        let marker = Array(#""time":""#.utf8)
        let eventPrefix = Array(#"{"type":"event""#.utf8)
        let statePrefix = Array(#"{"type":"state""#.utf8)
        let paths = topics.map { "/v1/stream?after=\(after)&topics=\($0)" }
        let isAll = topics.map { $0 == "all" }
        let report = FrameReader.run(port: port, paths: paths, connections: connections, seconds: seconds,
                                     authorization: token.map { "Bearer " + $0 }) { index, message in
            let receivedMs = Date().timeIntervalSince1970 * 1000
            guard message.starts(with: eventPrefix) else {
                // States are counted (the baseline sends as many); `behind` and heartbeats are not.
                if message.starts(with: statePrefix) {
                    counts.states += 1
                    counts.stateBytes += message.count
                }
                return
            }
            counts.events += 1
            counts.eventBytes += message.count
            guard let start = firstIndex(of: marker, in: message), start + 24 <= message.count,
                  let stamp = Timestamp(rfc3339: String(decoding: message[start..<start + 24], as: UTF8.self))
            else { return }
            let stampMs = Double(stamp.millisecondsSinceEpoch) - clockOffsetMs
            samples.append((stampMs, receivedMs - stampMs, isAll[index % isAll.count]))
        }
        // Steady state only: every subscriber connected, and `warmUpMs` more for their catch-ups to join.
        let from = (report.allConnectedAtMs ?? .infinity) + warmUpMs
        let live = samples.filter { $0.stampMs > from }
        return Figures(allTopicsMs: live.filter(\.all).map(\.latencyMs), ownTopicsMs: live.filter { !$0.all }.map(\.latencyMs),
                       report: report, skippedCatchUp: samples.count - live.count, eventMessages: counts.events,
                       eventBytes: counts.eventBytes, stateMessages: counts.states, stateBytes: counts.stateBytes)
    }

    /// The index just past the first occurrence of `needle`.
    static func firstIndex(of needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], UnsafeRawBufferPointer(rebasing: haystack[index..<index + needle.count]).elementsEqual(needle) {
                return index + needle.count
            }
            index += 1
        }
        return nil
    }
}

/// A one-way flag another thread raises.
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

