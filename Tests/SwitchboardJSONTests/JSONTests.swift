import Testing
@testable import SwitchboardJSON
import SwitchboardBasics

@Suite struct JSONParsingTests {
    @Test func roundTripsEveryKindOfValue() throws {
        let text = #"{"s":"a\"b\\c\n\u00e9\ud83d\ude00","i":-42,"big":12345678901234,"d":1.5,"t":true,"f":false,"n":null,"a":[1,[2,{}]],"o":{}}"#
        let value = try JSONParser.parse(text)
        #expect(value["s"]?.stringValue == "a\"b\\c\né😀")
        #expect(value["i"]?.intValue == -42)
        #expect(value["big"]?.intValue == 12_345_678_901_234)
        #expect(value["d"] == .double(1.5))
        #expect(value["t"] == true)
        #expect(value["n"] == .null)
        // Writing and parsing again gives the same value; writing is byte-stable.
        let written = JSONWriter.encode(value)
        #expect(try JSONParser.parse(written) == value)
        #expect(JSONWriter.encode(try JSONParser.parse(written)) == written)
    }

    @Test func keepsKeyOrder() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(JSONWriter.string(value) == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "1.", "-", "tru", "nul", "\"abc", "{\"a\" 1}",
        "[1] [2]", "{\"a\":1,\"a\":2}", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "1e", "NaN",
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONError.self) { try JSONParser.parse(bytes) }
    }

    @Test func boundsNesting() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONError.self) { try JSONParser.parse(deep) }
    }

    @Test func escapesControlCharactersWhenWriting() {
        #expect(JSONWriter.string(.string("a\u{01}\t\"")) == #""a\u0001\t\"""#)
        #expect(JSONWriter.string(.int(Int64.min)) == "-9223372036854775808")
        #expect(JSONWriter.string(.int(0)) == "0")
    }

    @Test func decodingNamesTheFieldThatIsWrong() throws {
        let object = try JSONObject(json: try JSONParser.parse(#"{"count":"three"}"#))
        do {
            let _: Int = try object.decode("count")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("count"))
        }
        #expect(throws: JSONError.self) { try object.rejectUnknownKeys(["other"]) }
    }
}

@Suite struct TimestampTests {
    @Test func fractionsOfAnyLengthParse() {
        // Six fractional digits (as Python and many clients write) once trapped the server.
        #expect(Timestamp(rfc3339: "2256-12-22T11:00:03.156081Z") == Timestamp(rfc3339: "2256-12-22T11:00:03.156Z"))
        #expect(Timestamp(rfc3339: "2026-01-05T15:00:00.5Z")?.millisecondsSinceEpoch
                == Timestamp(rfc3339: "2026-01-05T15:00:00Z").map { $0.millisecondsSinceEpoch + 500 })
        #expect(Timestamp(rfc3339: "2026-01-05T15:00:00.Z") == nil)
    }

    @Test func timeArithmeticSaturatesInsteadOfTrapping() {
        let late = Timestamp(millisecondsSinceEpoch: .max - 5)
        #expect(late.adding(milliseconds: 10) == Timestamp(millisecondsSinceEpoch: .max))
        #expect(Timestamp(millisecondsSinceEpoch: .min + 5).adding(milliseconds: -10).millisecondsSinceEpoch == .min)
        #expect(late.milliseconds(since: Timestamp(millisecondsSinceEpoch: -10)) == .max)
        #expect(Timestamp(millisecondsSinceEpoch: -10).milliseconds(since: late) == .min)
        #expect(Timestamp.epoch.adding(milliseconds: 1500).milliseconds(since: .epoch) == 1500)
    }

    @Test func formatsRFC3339WithMilliseconds() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_767_625_200_123).rfc3339 == "2026-01-05T15:00:00.123Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSinceEpoch: 951_782_400_000).rfc3339 == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesWhatItFormats() {
        for ms: Int64 in [0, 1, 999, 86_399_999, 1_767_625_200_123, -86_400_001, 4_102_444_800_000] {
            let stamp = Timestamp(millisecondsSinceEpoch: ms)
            #expect(Timestamp(rfc3339: stamp.rfc3339) == stamp)
        }
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(Timestamp(rfc3339: "2026-01-05T15:00:00Z")?.millisecondsSinceEpoch == 1_767_625_200_000)
        #expect(Timestamp(rfc3339: "2026-01-05T16:00:00.5+01:00")?.millisecondsSinceEpoch == 1_767_625_200_500)
        #expect(Timestamp(rfc3339: "2026-01-05") == nil)
        #expect(Timestamp(rfc3339: "2026-13-05T15:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2026-01-05T15:00:00") == nil)
    }
}

@Suite struct TimestampWriterTests {
    @Test func theByteWriterMatchesTheStringForm() {
        for ms: Int64 in [0, 7, 1_767_625_200_123, -1, 253_402_300_799_999, 951_782_400_000] {
            let stamp = Timestamp(millisecondsSinceEpoch: ms)
            var writer = JSONWriter()
            stamp.writeRFC3339(into: &writer)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == stamp.rfc3339)
        }
    }
}

@Suite struct JSONShapeTests {
    struct Sample: JSONShaped, Hashable {
        var id: String
        var count: Int
        var note: String?
        var extra: JSONObject?
        static let shape = JSONShape(
            Sample.init(id:count:note:extra:),
            JSONField("id", \Sample.id),
            JSONField("count", \Sample.count),
            JSONField("note", \Sample.note),
            JSONField<Sample, JSONObject?>.omittedWhenAbsent("extra", \Sample.extra)
        )
    }

    @Test func oneDescriptionEncodesAndDecodesInKeyOrder() throws {
        let sample = Sample(id: "a", count: 3, note: nil, extra: nil)
        #expect(JSONWriter.encode(sample.json) == Array(#"{"id":"a","count":3,"note":null}"#.utf8))
        #expect(try Sample(json: sample.json) == sample)
        let full = Sample(id: "b", count: 1, note: "n", extra: ["k": true])
        #expect(try Sample(json: try JSONParser.parse(JSONWriter.encode(full.json))) == full)
        #expect(Sample.shape.keys == ["id", "count", "note", "extra"])
    }

    @Test func aMissingOrWrongFieldIsNamed() throws {
        #expect(throws: JSONError("missing field \"count\"")) { try Sample(json: ["id": "a"]) }
        #expect(throws: JSONError.self) { try Sample(json: ["id": "a", "count": "three"]) }
        #expect(try Sample(json: ["id": "a", "count": 2]).note == nil)
    }

    /// Duplicates are refused however many keys an object has, and the keys keep their order
    /// (the lookup switches from a scan to a set past a few keys).
    @Test(arguments: [2, 15, 16, 17, 7766])
    func aDuplicateKeyIsRefusedAmongAnyNumberOfKeys(count: Int) throws {
        let keys = (0..<count).map { "\"k\($0)\":\($0)" }
        let whole = try JSONParser.parse("{" + keys.joined(separator: ",") + "}")
        #expect(whole.objectValue?.fields.map(\.key) == (0..<count).map { "k\($0)" })
        for repeated in [0, count / 2, count - 1] {
            #expect(throws: JSONError.self) { try JSONParser.parse("{" + keys.joined(separator: ",") + ",\"k\(repeated)\":0}") }
        }
    }

    /// One spelling of a name, whichever way it was typed: text is read composed (NFC), so the bytes
    /// the log keeps are the bytes Swift compared (issue 20, D14).
    @Test func textIsReadInItsComposedForm() throws {
        let composed = try JSONParser.parse(Array("\"jos\u{00E9}\"".utf8)).stringValue
        let decomposed = try JSONParser.parse(Array("\"jose\u{0301}\"".utf8)).stringValue
        let escaped = try JSONParser.parse(Array(#""jose\u0301""#.utf8)).stringValue
        #expect(composed.map { Array($0.utf8) } == [0x6A, 0x6F, 0x73, 0xC3, 0xA9])
        #expect(decomposed.map { Array($0.utf8) } == composed.map { Array($0.utf8) })
        #expect(escaped.map { Array($0.utf8) } == composed.map { Array($0.utf8) })
    }
}

