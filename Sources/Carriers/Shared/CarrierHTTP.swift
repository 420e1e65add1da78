import CoreMetrics
import Foundation
import WritePath
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A request to a carrier's REST API. Credentials travel in `headers` only — never in the URL — and
/// nothing here is logged with them.
public struct CarrierRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }
}

public struct CarrierResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// Lower-cased names.
    public var headers: [String: String]
}

/// Why a request got no answer. The difference matters: a request that timed out may have been
/// carried out (a call placed), one that never connected was not.
public enum CarrierHTTPError: Error, Sendable, Equatable {
    case timedOut
    case unreachable(String)
}

/// The carriers' HTTP client: Foundation's URLSession (libcurl underneath on Linux), which ships with
/// the toolchain — no package to build. One session per adapter; redirects are not followed (a
/// carrier API does not redirect, and a redirect would carry our credentials elsewhere).
public final class CarrierHTTPClient: Sendable {
    private let session: URLSession
    private let timeoutSeconds: Double
    private let carrier: String
    private let measurements: Measurements

    /// Every request is counted by carrier, method and outcome (`2xx`, `4xx`, `429`, `5xx`, `timeout`,
    /// `unreachable`) and timed: never with its URL, which names an account and a call.
    public init(timeoutMs: Int64, carrier: String = "", measurements: Measurements = .none) {
        self.carrier = carrier
        self.measurements = measurements
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.timeoutIntervalForRequest = Double(timeoutMs) / 1000
        timeoutSeconds = Double(timeoutMs) / 1000
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    public func send(_ request: CarrierRequest) async throws(CarrierHTTPError) -> CarrierResponse {
        let start = ContinuousClock.now
        let outcome: String
        defer {
            measurements.counter(Measurements.Name.carrierRequests, [("carrier", carrier), ("method", request.method), ("outcome", outcome)])
                .increment()
            measurements.timer(Measurements.Name.carrierRequestSeconds, [("carrier", carrier), ("method", request.method)])
                .recordElapsed(since: start)
        }
        do {
            let response = try await exchange(request)
            outcome = switch response.status {
            case 429: "429"
            case 200..<300: "2xx"
            case 500...: "5xx"
            default: "4xx"
            }
            return response
        } catch {
            outcome = error == .timedOut ? "timeout" : "unreachable"
            throw error
        }
    }

    private func exchange(_ request: CarrierRequest) async throws(CarrierHTTPError) -> CarrierResponse {
        guard let url = URL(string: request.url) else { throw .unreachable("not a URL: \(request.url)") }
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeoutSeconds)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty || request.method == "POST" { urlRequest.httpBody = Data(request.body) }
        do {
            let (data, response) = try await session.data(for: urlRequest)
            guard let http = response as? HTTPURLResponse else { throw CarrierHTTPError.unreachable("no HTTP response") }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
            }
            return CarrierResponse(status: http.statusCode, body: Array(data), headers: headers)
        } catch let error as CarrierHTTPError {
            throw error
        } catch let error as URLError where error.code == .timedOut {
            throw .timedOut
        } catch let error as URLError where [.networkConnectionLost, .badServerResponse].contains(error.code) {
            throw .timedOut  // the request went out; whether it was carried out is unknown
        } catch {
            throw .unreachable("\(error)")
        }
    }
}

/// Refuses every redirect: the response is taken as it is.
private final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// `application/x-www-form-urlencoded`, both ways (Twilio's requests and webhooks).
public enum FormEncoding {
    /// Unreserved characters stay; everything else is %XX (space too: `+` is only read, never written).
    public static func encode(_ fields: [(name: String, value: String)]) -> [UInt8] {
        Array(fields.map { escape($0.name) + "=" + escape($0.value) }.joined(separator: "&").utf8)
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// The fields of a form body in order (repeated names kept); `nil` when it is not a form.
    public static func decode(_ body: [UInt8]) -> [(name: String, value: String)]? {
        guard !body.isEmpty else { return [] }
        var fields: [(name: String, value: String)] = []
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(parts[0]) else { return nil }
            let value = parts.count > 1 ? unescape(parts[1]) : ""
            guard let value else { return nil }
            fields.append((name, value))
        }
        return fields
    }

    static func unescape(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
