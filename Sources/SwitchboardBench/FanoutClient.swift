import Foundation
import SwitchboardJSON
import WebTransport
import SwitchboardBasics

/// The fan-out figure's subscriber side: `--only fanout-client` opens N feed subscriptions with the
/// compiled `WebSocketLoadClient` and measures, for every event message, the time from the event's
/// `time` (taken by the server just before the append) to its receipt here.
///
/// The envelope's time has millisecond resolution, so each sample reads up to 1 ms high.
enum FanoutClient {
    struct Figures {
        var latenciesMs: [Double]
        var report: WebSocketLoadClient.Report
        /// Events stamped before every subscriber was connected (delivered by catch-up): not counted.
        var skippedCatchUp: Int
    }

    static func run(port: Int, subscribers: Int, seconds: Double, after: Int64, topics: String, token: String?) -> Figures {
        var samples: [(stampMs: Double, latencyMs: Double)] = []
        samples.reserveCapacity(1 << 20)
        let marker = Array(#""time":""#.utf8)
        let eventPrefix = Array(#"{"type":"event""#.utf8)
        let report = WebSocketLoadClient.run(
            host: "127.0.0.1", port: port, path: "/v1/stream?after=\(after)&topics=\(topics)",
            connections: subscribers, seconds: seconds, authorization: token.map { "Bearer " + $0 }
        ) { _, message in
            let receivedMs = Date().timeIntervalSince1970 * 1000
            guard message.starts(with: eventPrefix),
                  let start = firstIndex(of: marker, in: message), start + 24 <= message.count,
                  let stamp = Timestamp(rfc3339: String(decoding: message[start..<start + 24], as: UTF8.self))
            else { return }
            samples.append((Double(stamp.millisecondsSinceEpoch), receivedMs - Double(stamp.millisecondsSinceEpoch)))
        }
        let from = report.allConnectedAtMs ?? .infinity
        let live = samples.filter { $0.stampMs > from }.map(\.latencyMs)
        return Figures(latenciesMs: live, report: report, skippedCatchUp: samples.count - live.count)
    }

    /// The index just past the first occurrence of `needle`.
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) {
                return index + needle.count
            }
            index += 1
        }
        return nil
    }
}
