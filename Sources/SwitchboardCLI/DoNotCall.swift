import ArgumentParser
import CSV
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

struct DoNotCall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnc", abstract: "The organisation's do-not-call list.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add the numbers in a file (CSV: the first column; or one number a line) to the list.")
        @OptionGroup var options: StoreOption
        @Argument(help: "The file: E.164 numbers, or ten-digit US numbers (+1 is added).") var file: String

        /// `+15125550100`, `15125550100`, `(512) 555-0100`, `512-555-0100` — as E.164, if it is a number.
        static func number(_ field: Substring) -> PhoneNumber? {
            let text = field.trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
            if text.hasPrefix("+") { return PhoneNumber(text) }
            let digits = text.filter(\.isNumber)
            guard digits.count == text.filter({ !" ()-.".contains($0) }).count else { return nil }
            if digits.count == 10 { return PhoneNumber("+1" + digits) }
            if digits.count == 11, digits.hasPrefix("1") { return PhoneNumber("+" + digits) }
            return nil
        }

        /// The numbers in a file's first column, read as CSV (RFC 4180: a quoted field may hold commas,
        /// quotes and line breaks), and how many non-empty rows held no number (a header is one).
        static func numbers(in text: String) throws -> (numbers: [PhoneNumber], unreadable: Int) {
            let reader: CSVReader
            do {
                reader = try CSVReader(string: text, trimFields: true)
            } catch {
                throw ValidationError("the file is not CSV: \(error)")
            }
            var numbers: [PhoneNumber] = [], unreadable = 0
            while let row = reader.next() {
                guard let first = row.first, !first.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                if let number = Self.number(Substring(first)) { numbers.append(number) } else { unreadable += 1 }
            }
            if let error = reader.error { throw ValidationError("the file is not CSV: \(error)") }
            return (numbers, unreadable)
        }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let (numbers, unreadable) = try Self.numbers(in: String(decoding: data, as: UTF8.self))
            let claim = try StoreOption.claim(options.store)
            defer { close(claim) }
            let log = try options.open()
            defer { log.close() }
            let handler = try await CommandHandler(store: log)
            let before = await handler.state.doNotCall.count
            var start = 0
            while start < numbers.count {
                let slice = Array(numbers[start..<min(numbers.count, start + DialerState.maxDoNotCallPerCommand)])
                try await handler.handle(.addDoNotCall(slice, source: .import),
                                         at: Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
                start += slice.count
            }
            let after = await handler.state.doNotCall.count
            // A header line ("phone") is one of the unreadable lines.
            print("added \(after - before) numbers (\(numbers.count - (after - before)) already listed, \(unreadable) lines not a number); \(after) on the list")
        }
    }
}
