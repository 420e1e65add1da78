import DialerCore
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardTestSupport
import Testing
import DialerSimulation

/// Every event the scenarios emit, validated by a real JSON Schema validator (Python `jsonschema`,
/// installed by scripts/setup.sh) against EventSchemas/; and every event type has exactly one schema.
@Suite("Event schemas")
struct SchemaConformanceTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func everyEmittedEventValidatesAgainstItsSchema() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        for seed in 0..<4 { try await Traffic.run(handler, seed: UInt64(seed) &+ 100, steps: 200) }
        var lines: [UInt8] = []
        for try await event in temp.store.events() {
            lines += event.envelopeJSON
            lines.append(0x0A)
        }
        let eventsFile = temp.directory.appendingPathComponent("events.ndjson")
        try Data(lines).write(to: eventsFile)
        let typesFile = temp.directory.appendingPathComponent("types.txt")
        try Data(EventType.allCases.map { "\($0.rawValue) \($0.version)\n" }.joined().utf8).write(to: typesFile)

        let (status, output) = try runValidator(["--types", typesFile.path, eventsFile.path])
        #expect(status == 0, "schema validation failed:\n\(output)")
        #expect(output.contains("\"validated\": \(try await temp.store.headPosition())"), "\(output)")
    }

    @Test func theValidatorRejectsAnEventThatBreaksItsSchema() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        let dialed = try #require(try await temp.store.readAll(after: 0, limit: 1000).first { $0.type == "call.dialed" })
        var broken = dialed
        broken.data = Array(String(decoding: dialed.data, as: UTF8.self).replacingOccurrences(of: "\"+1", with: "\"1").utf8)
        let file = temp.directory.appendingPathComponent("broken.ndjson")
        try Data(broken.envelopeJSON + [0x0A]).write(to: file)
        let (status, output) = try runValidator([file.path])
        #expect(status != 0)
        #expect(output.contains("call.dialed"))
    }

    func runValidator(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.repository.appendingPathComponent("Tests/contract/schema_validation.py").path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
