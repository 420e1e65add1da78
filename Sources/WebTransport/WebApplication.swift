import Foundation
import SwitchboardJSON
import Synchronization

/// An HTTP request as the application sees it: no lws types.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Lower-cased header names; only the headers the application uses are read.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The client's address (for limits per address).
    public var peer: String

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = [],
                peer: String = "") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peer = peer
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// A body too big to hold: pulled a chunk at a time (the next is asked for only once the last is
    /// written, so memory stays bounded) and sent chunked; `nil` ends it. `body` is then unused.
    public var bodyStream: (@Sendable () async throws -> [UInt8]?)?

    public init(status: Int, contentType: String = "application/json", headers: [(name: String, value: String)] = [],
                body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }
}

extension HTTPResponse {
    /// The one shape of every error the server answers: `{"error": {"code", "message"}}`, escaped.
    public static func error(_ status: Int, code: String, message: String) -> HTTPResponse {
        HTTPResponse(status: status, body: JSONWriter.encode(["error": ["code": .string(code), "message": .string(message)]]))
    }
}

/// One WebSocket connection's name, stable for its lifetime.
public typealias ConnectionID = UInt64

/// What the server calls into. WebSocket callbacks run on the service thread: keep them short and
/// hand real work to tasks; answer with `WebServer.send` / `close` from any thread.
public protocol WebApplication: Sendable {
    func handle(_ request: HTTPRequest) async -> HTTPResponse
    /// Whether a WebSocket upgrade is accepted (`nil`), or the refusal to answer it with. Runs on the
    /// service thread: decide from the request alone (path, `Origin`, `Host`), do not wait.
    func webSocketRefusal(_ upgrade: HTTPRequest) -> HTTPResponse?
    /// `upgrade` carries the handshake's path, query, headers (`authorization`, `sec-websocket-protocol`,
    /// `origin`, `host`) and peer.
    func webSocketOpened(_ connection: ConnectionID, upgrade: HTTPRequest, server: WebServer)
    func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer)
    func webSocketClosed(_ connection: ConnectionID)
    /// Whether a request that carries a body is refused from its headers alone, before the body is
    /// read (a route that needs a token, and none or a malformed one was sent). Runs on the service
    /// thread: decide from the request alone, do not wait.
    func bodyRefusal(_ request: HTTPRequest) -> HTTPResponse?
    /// Headers beyond the ones the server always reads (`authorization`, `content-type`, …) that the
    /// application needs, lower-cased: a carrier's webhook signature, say. Read once, at start.
    var extraHeaders: [String] { get }
}

extension WebApplication {
    public func bodyRefusal(_ request: HTTPRequest) -> HTTPResponse? { nil }
    public var extraHeaders: [String] { [] }
}

/// Close codes the server uses.
public enum CloseCode {
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    /// The server cannot go on serving this socket (its projections stopped following the log).
    public static let internalError: UInt16 = 1011
    /// The connection's send queue passed its limit: the client reads too slowly. Resume with `after`.
    public static let slowConsumer: UInt16 = 4008
}

public struct WebServerError: Error, CustomStringConvertible {
    public var description: String
}
