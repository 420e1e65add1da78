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

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the event log.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case ndjson, table }

    @OptionGroup var options: StoreOption
    @Option(help: "Print events after this position.") var after: Int64 = 0
    @Option(help: "ndjson (one envelope per line) or table.") var format: Format = .ndjson

    func run() async throws {
        let store = try options.openForReading()
        defer { store.close() }
        let output = FileHandle.standardOutput
        if format == .table {
            let header = pad("POSITION", 9) + pad("TIME", 25) + pad("STREAM", 22) + pad("TYPE", 26) + "DATA\n"
            output.write(Data(header.utf8))
        }
        var chunk: [UInt8] = []
        for try await event in store.events(after: after) {
            switch format {
            case .ndjson:
                chunk.append(contentsOf: event.envelopeJSON)
                chunk.append(0x0A)
            case .table:
                let data = String(decoding: event.data, as: UTF8.self)
                let line = pad(String(event.position), 9) + pad(event.time.rfc3339, 25) + pad(event.stream, 22)
                    + pad(event.type, 26) + (data.count > 90 ? String(data.prefix(87)) + "..." : data) + "\n"
                chunk.append(contentsOf: line.utf8)
            }
            if chunk.count > 1 << 16 {
                output.write(Data(chunk))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        output.write(Data(chunk))
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the log's hash chain, or an export on its own; name the first position or line that does not hold.")

    @Option(help: "Path of the SQLite event log.") var store: String?
    @Option(help: "An NDJSON export (switchboard export) to check without the log.") var export: String?

    func run() async throws {
        if let export {
            guard let data = FileManager.default.contents(atPath: export) else { throw ValidationError("cannot read \(export)") }
            let report = ChainExport.verify(Array(data))
            if let line = report.firstBadLine {
                print("TAMPERED: line \(line): \(report.problem ?? "does not hold") (\(report.eventsChecked) events verified before it)")
                throw ExitCode(1)
            }
            print("OK: \(report.eventsChecked) events, the slice matches the chain")
            return
        }
        // Read-only: the file is checked as it is, never migrated or written (a server may be running on it).
        let inspection = SQLiteEventStore.inspect(path: store ?? "./switchboard.sqlite")
        if let report = inspection.chain, let bad = report.firstBadPosition {
            print("TAMPERED: first bad position \(bad): \(report.problem ?? "hash mismatch") (\(report.eventsChecked) events verified before it)")
        }
        for problem in inspection.problems { print("DAMAGED: \(problem)") }
        guard inspection.isSound, let report = inspection.chain else { throw ExitCode(1) }
        print("OK: \(report.eventsChecked) events, chain intact, head hash \(report.headHash)")
    }
}

struct AcceptHead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept-head",
        abstract: "After a loss, accept the log as it stands: its head record is set to what it holds (the events after it are gone for good).")

    @OptionGroup var options: StoreOption

    func run() async throws {
        let claim = try StoreOption.claim(options.store)
        defer { close(claim) }
        do {
            let (before, after) = try SQLiteEventStore.acceptHead(path: options.store)
            let lost = max(0, (before?.position ?? after.position) - after.position)
            print("accepted: the log ends at position \(after.position)" + (lost > 0 ? "; \(lost) committed events after it are lost" : ""))
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a slice of the log that anyone can check (switchboard verify --export): NDJSON envelopes and a trailer.")

    @OptionGroup var options: StoreOption
    @Option(help: "First position (default: the first).") var from: Int64 = 1
    @Option(help: "Last position (default: the head).") var to: Int64?
    @Option(help: "Write here instead of standard output.") var out: String?
    @Option(help: "ndjson (the slice, checkable) or csv (call-detail records of the calls placed in it).")
    var format: ExportFormat = .ndjson
    @Option(help: "csv: only this queue's calls.") var queue: String?
    @Option(help: "csv: only this session's calls.") var session: String?

    enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case ndjson, csv }

    func run() async throws {
        let log = try options.openForReading()
        defer { log.close() }
        guard from >= 1, to.map({ $0 >= from }) ?? true else { throw ValidationError("--from must be at least 1 and not after --to") }
        let head = try await log.headPosition()
        if format == .csv {
            let records = try await CallDetailRecord.records(log, from: from, to: min(to ?? head, head),
                                                             queue: queue.map(QueueID.init), session: session.map(SessionID.init))
            let csv = Data(CallDetailRecord.csv(records).utf8)
            if let out { try csv.write(to: URL(fileURLWithPath: out)) } else { FileHandle.standardOutput.write(csv) }
            return
        }
        guard queue == nil, session == nil else {
            throw ValidationError("an NDJSON export is a contiguous slice (it verifies on its own); --queue and --session are for csv")
        }
        let handle: FileHandle
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: nil), let file = FileHandle(forWritingAtPath: out) else {
                throw ValidationError("cannot write \(out)")
            }
            handle = file
        } else {
            handle = FileHandle.standardOutput
        }
        let trailer = try await ChainExport.write(log, from: from, to: min(to ?? head, head)) { handle.write(Data($0)) }
        if out != nil {
            try handle.close()
            FileHandle.standardError.write(Data("exported \(trailer.count) events (\(trailer.first)...\(trailer.last))\n".utf8))
        }
    }
}

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell a session's story from the log (no engine, no carrier), or show its state at a position.")

    @OptionGroup var options: StoreOption
    @Option(help: "The session.") var session: String
    @Option(help: "Show the session's state (and its batch's) as it was at this log position.") var at: Int64?
    @Option(help: "table (a readable timeline) or ndjson (the stored envelopes).") var format: Events.Format = .table

    func run() async throws {
        let log = try options.openForReading()
        defer { log.close() }
        let audit = Audit(store: log)
        let id = SessionID(session)
        if let at {
            let state = try await audit.sessionState(id, at: at)
            guard let found = state.sessions[id] else { throw ValidationError("session \(session) did not exist at position \(at)") }
            var output: JSONObject = ["position": .int(at), "session": found.summary]
            output["batch"] = (found.currentBatch ?? found.lastGroup).flatMap { state.batches[$0] }?.summary ?? .null
            print(String(decoding: JSONWriter.encode(.object(output)), as: UTF8.self))
            return
        }
        var after: Int64 = 0
        var start: Timestamp?
        while true {
            let page = try await audit.timeline(of: id, after: after, limit: 500)
            guard let last = page.last else { break }
            for recorded in page {
                switch format {
                case .ndjson: print(String(decoding: recorded.envelopeJSON, as: UTF8.self))
                case .table:
                    let origin = start ?? recorded.time
                    start = origin
                    let line = Self.clock(recorded.time.milliseconds(since: origin)) + "  " + Self.pad(String(recorded.position), 8)
                        + Self.pad(recorded.type, 26) + ((try? EventCodec.decode(recorded).payload.summary) ?? "")
                    print(line)
                }
            }
            after = last.position
        }
        if start == nil, format == .table { throw ValidationError("no events for session \(session)") }
    }

    /// `+m:ss.mmm` since the session started.
    static func clock(_ ms: Int64) -> String {
        let minutes = ms / 60_000, seconds = ms / 1000 % 60, millis = ms % 1000
        return "+\(minutes):" + (seconds < 10 ? "0" : "") + "\(seconds)." + String(String(millis + 1000).dropFirst())
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

struct EventTypes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event-types", abstract: "List every event type and its current version (one per line).")

    func run() {
        for type in EventType.allCases { print("\(type.rawValue) \(type.version)") }
    }
}
