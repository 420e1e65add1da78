import ArgumentParser
import DialerEngine
import DialerCore
import EventStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import Logging
import WebTransport
import SwitchboardRuntime
import SwitchboardServer
import DialerSimulation

struct RecordDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Record the scripted demo day into an empty store and print its log.")

    @OptionGroup var options: StoreOption
    @Option(help: "ndjson or table.") var format: Events.Format = .table

    func run() async throws {
        let store = try options.open()
        let head = try await store.headPosition()
        if head == 0 {
            let handler = try await CommandHandler(store: store, ids: SeededEventIDs(seed: 1))
            try await DemoScenario.run(handler)
        }
        store.close()
        let events = try Events.parse(["--store", options.store, "--format", format.rawValue])
        try await events.run()
        if head != 0 {
            FileHandle.standardError.write(Data("(the store already had \(head) events; nothing recorded)\n".utf8))
        }
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one scenario end to end on virtual time; print the log as NDJSON and a summary line.")

    @Option(help: "The scenario (JSON).") var scenario: String
    @Option(help: "Seed for the simulated carrier and all ids.") var seed: UInt64 = 1
    @Option(help: "Keep the log in this (empty or new) SQLite file instead of a temporary one.") var store: String?

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: scenario) else {
            throw ValidationError("cannot read scenario \(scenario)")
        }
        let parsed: SimulationScenario
        do {
            parsed = try SimulationScenario(json: try JSONParser.parse(Array(data)))
        } catch {
            throw ValidationError("invalid scenario \(scenario): \(error)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-sim-\(getpid())")
        let path = store ?? directory.appendingPathComponent("log.sqlite").path
        if store == nil { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        defer { if store == nil { try? FileManager.default.removeItem(at: directory) } }
        let log: SQLiteEventStore
        do {
            log = try SQLiteEventStore(path: path)
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
        }
        defer { log.close() }
        guard try await log.headPosition() == 0 else { throw ValidationError("the store \(path) is not empty") }
        let outcome = try await Simulation.run(parsed, seed: seed, store: log)
        var output: [UInt8] = []
        for event in outcome.events {
            output += event.envelopeJSON
            output.append(0x0A)
        }
        output += JSONWriter.encode(["summary": SimulationSummary.json(outcome)])
        output.append(0x0A)
        FileHandle.standardOutput.write(Data(output))
        for refusal in outcome.refusals {
            FileHandle.standardError.write(Data("refused: \(refusal)\n".utf8))
        }
    }
}

/// `simulate`'s last line: the queue, the session and every batch exactly as the API shows them (the
/// server's representations), and what the run did under the rules.
enum SimulationSummary {
    public static func json(_ outcome: Simulation.Outcome) -> JSONValue {
        let state = outcome.state
        let batches = state.batches.values.sorted { ($0.startedAt, $0.position) < ($1.startedAt, $1.position) }
        return [
            "queue": state.queues[outcome.queueId]?.summary(at: outcome.endedAt) ?? .null,
            "session": state.sessions[outcome.sessionId]?.summary ?? .null,
            "groups": .array(batches.map(\.summary)),
            "compliance": compliance(outcome),
        ]
    }

    /// What the run did under the rules: each move of the 3 % guard, every abandoned call by cause and
    /// what it heard, the queue's waits for calling hours, and the day rows of the compliance report.
    static func compliance(_ outcome: Simulation.Outcome) -> JSONValue {
        var guardChanges: [JSONValue] = []
        var waits: [JSONValue] = []
        var byCause: [AbandonCause: Int] = [:]
        var builder = ComplianceReport.Builder()
        for recorded in outcome.events {
            try? builder.add(recorded)
            switch try? EventCodec.decode(recorded) {
            case .abandonmentGuardChanged(let e)?:
                guardChanges.append([
                    "at": recorded.time.json, "position": recorded.position.json, "level": e.level.json,
                    "previous": e.previous.json, "maxLines": e.maxLines?.json ?? .null, "abandoned": e.abandoned.json,
                    "liveAnswers": e.liveAnswers.json, "ratePercent": e.ratePercent.json,
                ])
            case .queueWaitingForHours(let e)?:
                waits.append(["at": recorded.time.json, "until": e.until.json, "contacts": e.contacts.json])
            case .callAbandoned(let e)?:
                byCause[e.cause, default: 0] += 1
            default:
                break
            }
        }
        let report = builder.report(queue: outcome.queueId)
        let days = report.days
        func total(_ field: (ComplianceReport.Day) -> Int) -> JSONValue { days.reduce(0) { $0 + field($1) }.json }
        return [
            "guard": .array(guardChanges),
            "abandoned": [
                "total": total(\.abandoned), "liveAnswers": total(\.liveAnswers),
                "byCause": .object(JSONObject(fields: AbandonCause.allCases.map { .init(key: $0.rawValue, value: (byCause[$0] ?? 0).json) })),
                "safeHarborWithin2s": total(\.abandonedWithSafeHarborWithin2s),
                "withoutSafeHarbor": total(\.abandonedWithoutSafeHarbor),
            ],
            "callingHours": ["waits": .array(waits), "dialedOutsideHours": total(\.callsOutsideCallingHours)],
            "days": report.json["days"] ?? .null,
        ]
    }
}
