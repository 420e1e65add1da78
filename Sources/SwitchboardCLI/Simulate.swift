import ArgumentParser
import DialerEngine
import DialerCore
import EventStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwitchboardApp
import SwitchboardJSON
import SwitchboardBasics
import Logging
import WebTransport
import SwitchboardRuntime
import SwitchboardServer

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
