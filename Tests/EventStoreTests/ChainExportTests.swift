import EventStore
import Foundation
import SwitchboardTestSupport
import Testing

@Suite("Exports anyone can check", .timeLimit(.minutes(1)))
struct ChainExportTests {
    func export(from: Int64, to: Int64, keeping keep: @escaping @Sendable (RecordedEvent) -> Bool = { _ in true }) async throws -> [UInt8] {
        let folder = try TemporaryFolder()
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { store.close() }
        for index in 0..<10 {
            try await store.append([event(data: #"{"n":\#(index),"text":"café \"quoted\""}"#)], to: "queue-\(index % 3)",
                                   expectedVersion: .any)
        }
        var bytes: [UInt8] = []
        try await ChainExport.write(store, from: from, to: to, pageSize: 3, keeping: keep) { bytes += $0 }
        return bytes
    }

    func lines(_ bytes: [UInt8]) -> [[UInt8]] { bytes.split(separator: 0x0A).map(Array.init) }

    @Test func aSliceVerifiesOnItsOwnFromTheHashBeforeIt() async throws {
        let bytes = try await export(from: 4, to: 8)
        #expect(lines(bytes).count == 6)  // five events and the trailer
        let report = ChainExport.verify(bytes)
        #expect(report.isIntact && report.eventsChecked == 5)
        #expect(ChainExport.verify(try await export(from: 1, to: 10)).isIntact)
    }

    @Test(arguments: 1...5)
    func oneEditedByteIsFoundAtItsLine(line: Int) async throws {
        var rows = lines(try await export(from: 4, to: 8))
        // Change one byte of the event's data (a digit of "n").
        let target = rows[line - 1]
        let at = try #require(target.firstRange(of: Array(#""n":"#.utf8))).upperBound
        rows[line - 1][at] = rows[line - 1][at] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
        let report = ChainExport.verify(Array(rows.joined(separator: [0x0A])) + [0x0A])
        #expect(report.firstBadLine == line)
    }

    @Test func aFilteredExportStillVerifiesAndAnEditInItIsFound() async throws {
        let bytes = try await export(from: 2, to: 10) { $0.stream == "queue-1" }  // positions 2, 5, 8
        let rows = lines(bytes)
        #expect(rows.count == 3 + 3 + 1)  // skip lines before 5 and 8 (and after 8), the events, the trailer
        #expect(ChainExport.verify(bytes).isIntact && ChainExport.verify(bytes).eventsChecked == 3)
        var edited = rows
        let target = try #require(edited.firstIndex { $0.starts(with: Array(#"{"position":5"#.utf8)) })
        let at = try #require(edited[target].firstRange(of: Array(#""n":"#.utf8))).upperBound
        edited[target][at] = edited[target][at] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
        #expect(ChainExport.verify(Array(edited.joined(separator: [0x0A]))).firstBadLine == target + 1)
    }

    @Test func aMissingLineOrAForeignTrailerIsFound() async throws {
        var rows = lines(try await export(from: 4, to: 8))
        rows.remove(at: 2)
        #expect(ChainExport.verify(Array(rows.joined(separator: [0x0A]))).firstBadLine == 3)
        var cut = lines(try await export(from: 4, to: 8))
        cut.remove(at: 4)  // the last event: every line holds, but the trailer's count and head do not
        #expect(ChainExport.verify(Array(cut.joined(separator: [0x0A]))).firstBadLine == 5)
        #expect(ChainExport.verify(Array("no trailer\n".utf8)).isIntact == false)
    }
}
