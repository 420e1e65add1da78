import CoreMetrics
import EventStore
import Foundation
import MetricsTestKit
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardTestSupport
import Testing

/// What the write path measures about itself, through a test factory (no global bootstrap).
@Suite("Measurements")
struct MeasurementsTests {
    static func write(_ stream: String, _ count: Int) -> StreamWrite {
        StreamWrite(stream: stream, expectedVersion: .any, events: (0..<count).map { _ in
            NewEvent(id: UUID(), type: "test.happened", version: 1, time: Timestamp(millisecondsSinceEpoch: 1_000), correlationId: nil,
                     data: Array(#"{"n":1}"#.utf8))
        })
    }

    @Test func theWriterTimesEachAppendAndCountsTheEventsItCarries() async throws {
        let metrics = TestMetrics()
        let temp = try TemporaryStore()
        let writer = LogWriter(store: temp.store, measurements: Measurements(factory: metrics))
        // Held and released together: one append (one commit) of all three submissions.
        writer.hold()
        for (stream, count) in [("a", 2), ("b", 3), ("c", 1)] { writer.submit([Self.write(stream, count)]) { _ in } }
        writer.release()
        try await writer.flush()
        _ = try await writer.write([Self.write("d", 4)])
        let sizes = try metrics.expectRecorder(Measurements.Name.commitEvents).values
        #expect(sizes == [6, 4])
        let latencies = try metrics.expectTimer(Measurements.Name.appendSeconds).values
        #expect(latencies.count == 2 && latencies.allSatisfy { $0 > 0 })
    }
}
