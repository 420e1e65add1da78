import Crypto
import SwitchboardJSON

/// A slice of the log that anyone can check against the chain without the rest of it: the stored
/// envelopes from `from` to `to`, exactly as stored, one per line, then a trailer with the first and
/// last position, the count, the hash of the event just before `from` and the chain head at `to`.
///
/// Each line's hash covers the line itself without its `hash` field (the canonical bytes), chained to
/// the line before it, starting from the trailer's `before` — so the check needs no JSON re-encoding.
///
/// A filtered export (one queue's or one session's events) keeps the chain checkable: each run of
/// events left out becomes one line `{"skipped": {"from", "through", "hash"}}` naming the positions and
/// the hash of the last event left out, which the next kept event chains to.
public enum ChainExport {
    public struct Trailer: Sendable, Hashable {
        public var first: Int64
        public var last: Int64
        public var count: Int64
        /// Hex hash of the event at `first - 1` (32 zero bytes before the first event).
        public var before: String
        /// Hex hash of the event at `last`.
        public var head: String
    }

    /// Writes the slice `from...to` (clamped to the log) through `write`, a page at a time (bounded
    /// memory), and returns its trailer, which it writes last.
    @discardableResult
    public static func write(_ store: some EventStore, from: Int64, to: Int64, pageSize: Int = 2048,
                             keeping keep: @escaping @Sendable (RecordedEvent) -> Bool = { _ in true },
                             _ write: ([UInt8]) throws -> Void) async throws -> Trailer {
        let reader = Reader(store: store, from: from, to: to, pageSize: pageSize, keeping: keep)
        while let piece = try await reader.next() { try write(piece) }
        return await reader.trailer
    }

    /// The export as pieces pulled one at a time: a page of lines per call, then the trailer, then
    /// `nil` — so a server can stream it with only one page in memory.
    public actor Reader {
        let store: any EventStore
        let to: Int64
        let pageSize: Int
        let keep: @Sendable (RecordedEvent) -> Bool
        private var position: Int64
        private var skipped: (from: Int64, through: Int64, hash: [UInt8])?
        private var started = false
        private var done = false
        public private(set) var trailer: Trailer

        public init(store: any EventStore, from: Int64, to: Int64, pageSize: Int = 2048,
                    keeping keep: @escaping @Sendable (RecordedEvent) -> Bool = { _ in true }) {
            self.store = store
            self.to = to
            self.pageSize = max(1, pageSize)
            self.keep = keep
            let from = max(1, from)
            position = from - 1
            let genesis = EventHashing.hex(EventHashing.genesis)
            trailer = Trailer(first: from, last: from - 1, count: 0, before: genesis, head: genesis)
        }

        public func next() async throws -> [UInt8]? {
            guard !done else { return nil }
            if !started {
                started = true
                if trailer.first > 1, let before = try await store.readAll(after: trailer.first - 2, limit: 1).first {
                    trailer.before = EventHashing.hex(before.hash)
                    trailer.head = trailer.before
                }
            }
            if position < to {
                let page = try await store.readAll(after: position, limit: pageSize)
                if !page.isEmpty {
                    var chunk: [UInt8] = []
                    for event in page where event.position <= to {
                        trailer.last = event.position
                        trailer.head = EventHashing.hex(event.hash)
                        guard keep(event) else {
                            skipped = (skipped?.from ?? event.position, event.position, event.hash)
                            continue
                        }
                        if let run = skipped { chunk += Self.skipLine(run) }
                        skipped = nil
                        chunk += event.envelopeJSON
                        chunk.append(0x0A)
                        trailer.count += 1
                    }
                    position = page[page.count - 1].position
                    return chunk
                }
                position = to
            }
            done = true
            var tail: [UInt8] = []
            if let run = skipped { tail += Self.skipLine(run) }
            tail += JSONWriter.encode(["trailer": [
                "first": .int(trailer.first), "last": .int(trailer.last), "count": .int(trailer.count),
                "before": .string(trailer.before), "head": .string(trailer.head),
            ]]) + [0x0A]
            return tail
        }

        static func skipLine(_ run: (from: Int64, through: Int64, hash: [UInt8])) -> [UInt8] {
            JSONWriter.encode(["skipped": ["from": .int(run.from), "through": .int(run.through),
                                           "hash": .string(EventHashing.hex(run.hash))]]) + [0x0A]
        }
    }

    /// What checking an export found.
    public struct Verification: Sendable, Hashable {
        public var eventsChecked: Int
        /// The first line (1-based) that does not hold, and why.
        public var firstBadLine: Int?
        public var problem: String?
        public var isIntact: Bool { firstBadLine == nil }
    }

    /// Checks every line of an export against the chain, from the trailer's `before` hash.
    public static func verify(_ text: [UInt8]) -> Verification {
        var lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let trailerLine = lines.popLast(), let trailer = try? JSONParser.parse(trailerLine)["trailer"],
            let before = trailer["before"]?.stringValue.flatMap(bytes(hex:)), let head = trailer["head"]?.stringValue,
            let first = trailer["first"]?.intValue, let count = trailer["count"]?.intValue
        else {
            return Verification(eventsChecked: 0, firstBadLine: lines.count + 1, problem: "the last line is not a trailer")
        }
        var previous = before
        var expected = first
        var checked = 0
        let hashField = Array(#","hash":""#.utf8)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            func bad(_ problem: String) -> Verification {
                Verification(eventsChecked: checked, firstBadLine: number, problem: problem)
            }
            if line.starts(with: Array(#"{"skipped":"#.utf8)) {
                guard let run = try? JSONParser.parse(line)["skipped"], let from = run["from"]?.intValue,
                    let through = run["through"]?.intValue, through >= from,
                    let hash = run["hash"]?.stringValue.flatMap(bytes(hex:))
                else { return bad("not a skipped-run line") }
                guard from == expected else { return bad("skips from \(from), expected \(expected)") }
                previous = hash
                expected = through + 1
                continue
            }
            // `…,"hash":"<64 hex>"}`: the canonical bytes are the line without that field.
            let suffix = hashField.count + 64 + 2
            guard line.count > suffix, line.last == UInt8(ascii: "}"),
                Array(line[(line.count - suffix)..<(line.count - suffix + hashField.count)]) == hashField
            else { return bad("not a stored envelope with its hash") }
            let stated = String(decoding: line[(line.count - 66)..<(line.count - 2)], as: UTF8.self)
            let canonical = Array(line[..<(line.count - suffix)]) + [UInt8(ascii: "}")]
            guard let position = (try? JSONParser.parse(canonical))?["position"]?.intValue, position == expected
            else { return bad("position is not \(expected) (a line is missing, added or moved)") }
            var hasher = SHA256()
            hasher.update(data: previous)
            hasher.update(data: canonical)
            let computed = Array(hasher.finalize())
            guard EventHashing.hex(computed) == stated else { return bad("hash does not match its content and predecessor") }
            previous = computed
            expected += 1
            checked += 1
        }
        guard Int64(checked) == count else {
            return Verification(eventsChecked: checked, firstBadLine: lines.count + 1,
                                problem: "the trailer counts \(count) events, the file has \(checked)")
        }
        guard EventHashing.hex(previous) == head else {
            return Verification(eventsChecked: checked, firstBadLine: lines.count + 1,
                                problem: "the last event's hash is not the trailer's head")
        }
        return Verification(eventsChecked: checked, firstBadLine: nil, problem: nil)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var out: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
