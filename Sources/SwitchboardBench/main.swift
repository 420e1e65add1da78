import CSQLite
import DialerCore
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardJSON

/// `switchboard-bench`: prints one JSON line per figure, each beside a baseline from the same run.
///
///   append  — events of ~300 bytes appended by concurrent writers, one event per `append`, each durable
///             before the call returns; baseline: the same rows through the raw SQLite C API in
///             transactions of 1 000 (SQLite's best case).
///   replay  — a cold start folding a realistic dialer log into every projection; baseline: a bare scan
///             of the same rows.
struct Options {
    var events = 200_000
    var writers = 64
    var only: Set<String> = []
    // fanout-client: the subscriber side of the server's fan-out figure (run by scripts/bench_server.py).
    var port = 8080
    var subscribers = 1000
    var seconds = 10.0
    var after: Int64 = 0
    var topics = "all"
    /// One subscription per line, used in turn by the connections (overrides `topics`).
    var topicsFile: String?
    /// The server's clock shift (`serve --clock-offset-hours`), so latencies compare one clock.
    var clockOffsetHours = 0.0
    var helloServer = false
    // generate: a floor's log over days, into `--store` (see `FloorLog`).
    var generate = false
    var store: String?
    // broadcaster: the bare baseline of the fan-out figure.
    var broadcaster = false
    var shape = Broadcaster.Shape(eventsPerSecond: 10, eventBytes: 700, stateBytes: 1500, statesPerEvent: 2)

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--events": events = iterator.next().flatMap(Int.init) ?? events
            case "--writers": writers = iterator.next().flatMap(Int.init) ?? writers
            case "--only": only.insert(iterator.next() ?? "")
            case "--port": port = iterator.next().flatMap(Int.init) ?? port
            case "--subscribers": subscribers = iterator.next().flatMap(Int.init) ?? subscribers
            case "--seconds": seconds = iterator.next().flatMap(Double.init) ?? seconds
            case "--after": after = iterator.next().flatMap(Int64.init) ?? after
            case "--topics": topics = iterator.next() ?? topics
            case "--topics-file": topicsFile = iterator.next()
            case "--clock-offset-hours": clockOffsetHours = iterator.next().flatMap(Double.init) ?? clockOffsetHours
            case "hello-server": helloServer = true
            case "generate": generate = true
            case "--store": store = iterator.next()
            case "broadcaster": broadcaster = true
            case "--rate": shape.eventsPerSecond = iterator.next().flatMap(Double.init) ?? shape.eventsPerSecond
            case "--event-bytes": shape.eventBytes = iterator.next().flatMap(Int.init) ?? shape.eventBytes
            case "--state-bytes": shape.stateBytes = iterator.next().flatMap(Int.init) ?? shape.stateBytes
            case "--states-per-event": shape.statesPerEvent = iterator.next().flatMap(Double.init) ?? shape.statesPerEvent
            case "--schedule":
                guard let path = iterator.next(), let text = try? String(contentsOfFile: path, encoding: .utf8),
                      let schedule = Broadcaster.schedule(text) else {
                    FileHandle.standardError.write(Data("--schedule: a readable file of lines `offsetMs events states`\n".utf8))
                    exit(2)
                }
                shape.schedule = schedule
            default:
                FileHandle.standardError.write(Data("usage: switchboard-bench generate --events N --store PATH | --only verify_read --store PATH | hello-server [--port P] | broadcaster [--port P] [--rate EVENTS_PER_S] [--event-bytes B] [--state-bytes B] [--states-per-event X] [--schedule FILE] | [--events N] [--writers N] [--only append|append_random_ids|replay|engine|answer_to_cancel_us|carrier|audit|replay-phases|fanout-client [--port P] [--subscribers N] [--seconds S] [--after POS] [--topics T | --topics-file F] [--clock-offset-hours H]; the feed's token in SWITCHBOARD_TOKEN]\n".utf8))
                exit(2)
            }
        }
    }

    /// Figures run by default; the others only when named.
    func runs(_ figure: String) -> Bool { only.isEmpty && !["replay-phases", "fanout-client", "verify_read"].contains(figure) || only.contains(figure) }
}

let options = Options(CommandLine.arguments)
if options.helloServer {
    HelloServer.run(port: options.port)
    exit(0)
}
if options.broadcaster {
    Broadcaster.run(port: options.port, shape: options.shape)
    exit(0)
}
if options.generate {
    guard let path = options.store else {
        FileHandle.standardError.write(Data("generate: --store PATH (a new file) and --events N\n".utf8))
        exit(2)
    }
    let store = try SQLiteEventStore(path: path)
    guard try await store.headPosition() == 0 else {
        FileHandle.standardError.write(Data("generate: \(path) already holds events; give a new file\n".utf8))
        exit(2)
    }
    var floor = FloorLog(store: store, shape: FloorLog.Shape())
    let start = now()
    let summary = try await floor.generate(events: options.events) { events, time in
        FileHandle.standardError.write(Data("generate: \(events) events, floor time \(time.rfc3339)\n".utf8))
    }
    let seconds = Double(now() - start) / 1e9
    store.close()
    let missing = EventType.allCases.map(\.rawValue).filter { !summary.eventTypes.contains($0) }.sorted()
    emit(["figure": "generate", "events": .int(Int64(summary.events)), "events_per_s": round(Double(summary.events) / seconds, 0),
          "seconds": round(seconds, 1), "days": .int(Int64(summary.days)), "batches": .int(Int64(summary.batches)),
          "from": .string(summary.firstTime.rfc3339), "to": .string(summary.lastTime.rfc3339),
          "event_types": .int(Int64(summary.eventTypes.count)), "missing_types": .array(missing.map { .string($0) })])
    exit(0)
}
let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-bench-\(getpid())")
try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: workspace) }

func emit(_ fields: KeyValuePairs<String, JSONValue>) {
    let object = JSONObject(fields: fields.map { .init(key: $0.key, value: $0.value) })
    FileHandle.standardOutput.write(Data(JSONWriter.encode(.object(object)) + [0x0A]))
}

func round(_ value: Double, _ places: Int = 1) -> JSONValue {
    let scale = pow(10.0, Double(places))
    return .double((value * scale).rounded() / scale)
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

for (figure, randomIds) in [("append", false), ("append_random_ids", true)] where options.runs(figure) {
    let (store, raw) = try await AppendBenchmark.run(events: options.events, writers: options.writers,
                                                     randomIds: randomIds, in: workspace)
    emit(["figure": .string(figure), "events": .int(Int64(options.events)), "writers": .int(Int64(options.writers)),
          "ids": .string(randomIds ? "uuid-v4" : "uuid-v7"),
          "events_per_s": round(store.eventsPerSecond, 0), "p50_ms": round(store.p50Ms, 2), "p99_ms": round(store.p99Ms, 2),
          "events_per_commit": round(store.eventsPerCommit, 1),
          "baseline_events_per_s": round(raw, 0), "ratio": round(store.eventsPerSecond / raw, 2)])
}

if options.only.contains("verify_read") {
    guard let path = options.store else {
        FileHandle.standardError.write(Data("verify_read: --store PATH (a log, e.g. from `generate`)\n".utf8))
        exit(2)
    }
    let result = try await ReadDuringVerify.run(path: path)
    emit(["figure": "verify_read", "events": .int(result.events), "verify_s": round(result.verifySeconds, 2),
          "reads": .int(Int64(result.reads)), "p50_ms": round(result.p50Ms, 2), "p99_ms": round(result.p99Ms, 2),
          "max_ms": round(result.maxMs, 2), "baseline_p50_ms": round(result.baselineP50Ms, 2),
          "baseline_p99_ms": round(result.baselineP99Ms, 2)])
}

if options.runs("replay") {
    let result = try await ReplayBenchmark.run(events: options.events, in: workspace)
    emit(["figure": "replay", "events": .int(Int64(result.events)), "events_per_s": round(result.foldPerSecond, 0),
          "baseline_scan_events_per_s": round(result.scanPerSecond, 0),
          "groups": .int(Int64(result.batches)), "sessions": .int(Int64(result.sessions))])
}

if options.runs("engine") {
    let figures = try await EngineBenchmark.run(agents: 1000, contactsPerQueue: 20, in: workspace)
    emit(["figure": "engine", "agents": .int(Int64(figures.agents)), "batches": .int(Int64(figures.batches)),
          "events": .int(Int64(figures.events)), "events_per_s": round(figures.eventsPerSecond, 0),
          "virtual_hours": round(figures.virtualHours, 2)])
}

if options.runs("answer_to_cancel_us") {
    let latency = try await EngineBenchmark.answerToCancel(batches: 300, in: workspace)
    emit(["figure": "answer_to_cancel_us", "p50": round(latency.p50, 0), "p99": round(latency.p99, 0),
          "samples": .int(Int64(latency.samples))])
}

if options.runs("carrier") {
    func percentile(_ samples: [Double], _ p: Double) -> Double {
        let sorted = samples.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
    for carrier in ["twilio", "telnyx"] {
        let f = carrier == "twilio" ? try await CarrierBenchmark.run(batches: 300, in: workspace)
            : try await TelnyxCarrierBenchmark.run(batches: 300, in: workspace)
        // p50/p99: inside the server (the webhook's arrival → the request leaving); client_*: as the
        // benchmark's client saw it, beside the same-shape webhook that needs no decision.
        for (figure, server, client) in [("carrier_answer_to_bridge_ms", f.serverBridgeMs, f.bridgeMs),
                                         ("carrier_answer_to_cancel_ms", f.serverCancelMs, f.cancelMs)] {
            emit(["figure": .string(figure), "carrier": .string(carrier), "samples": .int(Int64(server.count)),
                  "p50": round(percentile(server, 0.5), 3), "p99": round(percentile(server, 0.99), 3),
                  "client_p50": round(percentile(client, 0.5), 2), "client_p99": round(percentile(client, 0.99), 2),
                  "baseline_webhook_p50": round(percentile(f.baselineMs, 0.5), 2),
                  "baseline_webhook_p99": round(percentile(f.baselineMs, 0.99), 2)])
        }
    }
}

if options.runs("audit") {
    let f = try await AuditBenchmark.run(events: max(options.events, 1_000_000), in: workspace)
    emit(["figure": "audit_at", "events": .int(Int64(f.events)), "sessions": .int(Int64(f.sessions)),
          "samples": .int(Int64(f.atSamples)), "p50_ms": round(f.atP50, 2), "p99_ms": round(f.atP99, 2),
          "baseline_prefix_fold_ms": round(f.atBaselineMs, 0)])
    emit(["figure": "timeline", "events": .int(Int64(f.events)), "samples": .int(Int64(f.timelineSamples)),
          "events_per_timeline": round(f.timelineEventsAvg, 0), "p50_ms": round(f.timelineP50, 2),
          "p99_ms": round(f.timelineP99, 2), "baseline_scan_ms": round(f.timelineBaselineMs, 0)])
}

if options.runs("json_keys") {
    // A 64 KiB request body of distinct keys (what the API reads before it can refuse it) against the
    // same values in an array: the duplicate-key check must not make an object cost more than that.
    let count = 7766
    let object = Array(("{" + (0..<count).map { "\"k\($0)\":\($0 % 10)" }.joined(separator: ",") + "}").utf8)
    let array = Array(("[" + (0..<count).map { "\"k\($0)\",\($0 % 10)" }.joined(separator: ",") + "]").utf8)
    func microseconds(_ bytes: [UInt8]) throws -> Double {
        var best = Double.infinity
        for _ in 0..<20 {
            let start = now()
            _ = try JSONParser.parse(bytes)
            best = min(best, Double(now() - start) / 1000)
        }
        return best
    }
    let keys = try microseconds(object), values = try microseconds(array)
    emit(["figure": "json_keys", "keys": .int(Int64(count)), "body_bytes": .int(Int64(object.count)),
          "object_us": round(keys, 0), "baseline_array_us": round(values, 0), "ratio": round(keys / values, 2)])
}

if options.runs("fanout-client") {
    let topics = try options.topicsFile.map { try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init) }
        ?? [options.topics]
    let figures = FanoutClient.run(port: options.port, connections: options.subscribers, seconds: options.seconds,
                                   after: options.after, topics: topics,
                                   token: ProcessInfo.processInfo.environment["SWITCHBOARD_TOKEN"],
                                   clockOffsetMs: options.clockOffsetHours * 3_600_000)
    func percentiles(_ samples: [Double]) -> JSONValue {
        let sorted = samples.sorted()
        func at(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return ["samples": .int(Int64(sorted.count)), "p50_ms": round(at(0.5), 2), "p99_ms": round(at(0.99), 2),
                "max_ms": round(sorted.last ?? 0, 2)]
    }
    let all = figures.allTopicsMs + figures.ownTopicsMs
    /// Samples per 0.1 ms, so the figures of several client processes can be merged exactly.
    func histogram(_ samples: [Double]) -> JSONValue {
        var buckets: [Int: Int] = [:]
        for sample in samples { buckets[Int((sample * 10).rounded(.down)), default: 0] += 1 }
        return .object(JSONObject(fields: buckets.sorted { $0.key < $1.key }.map { .init(key: String($0.key), value: .int(Int64($0.value))) }))
    }
    func average(_ total: Int, _ count: Int) -> JSONValue { .int(count == 0 ? 0 : Int64(total / count)) }
    emit(["figure": "fanout_client", "subscribers": .int(Int64(options.subscribers)),
          "connected": .int(Int64(figures.report.connected)), "failed": .int(Int64(figures.report.failed)),
          "closed_by_server": .int(Int64(figures.report.closedByServer)), "messages": .int(Int64(figures.report.messages)),
          "catch_up_samples_skipped": .int(Int64(figures.skippedCatchUp)),
          "every": percentiles(all), "all_topics": percentiles(figures.allTopicsMs), "own_topics": percentiles(figures.ownTopicsMs),
          "event_messages": .int(Int64(figures.eventMessages)), "event_bytes_avg": average(figures.eventBytes, figures.eventMessages),
          "state_messages": .int(Int64(figures.stateMessages)), "state_bytes_avg": average(figures.stateBytes, figures.stateMessages),
          "histograms": ["all_topics": histogram(figures.allTopicsMs), "own_topics": histogram(figures.ownTopicsMs)],
          "client_cpu_s": round(figures.report.cpuSeconds, 2), "seconds": round(options.seconds, 1)])
}

if options.runs("replay-phases") {
    try await ReplayPhases.run(events: options.events, in: workspace)
}
