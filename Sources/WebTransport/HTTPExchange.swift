/// One HTTP request and its answer on the service thread, as a value: what lws reports about it comes
/// in, what to do comes out, and the decisions that work around libwebsockets 4.1 are made here —
/// unit-tested without a socket (`Tests/WebTransportTests/HTTPExchangeTests.swift`).
struct HTTPExchange {
    var request: HTTPRequest
    /// When its headers were read, while its body is still arriving (counted against its address).
    var bodySince: UInt64?
    var response: HTTPResponse?
    var closeAfter = false
    /// lws may report the end of an empty body after we already dispatched: handle a request once.
    var dispatched = false
    var completionSeen = false
    /// Answered from its head (431, 413, 401 …): a body that still arrives is not read nor handled.
    var rejected = false
    /// A streamed body: the headers are out, and the next piece (or the end) is awaited or ready.
    var stream: StreamState?

    struct StreamState {
        var piece: [UInt8]?
        var ended = false
        var awaiting = false
    }

    /// How a request's body is taken, decided from its head.
    enum BodyPlan: Equatable {
        /// No body: answer now.
        case none
        /// A method that carries a body sent no `Content-Length`: lws 4.1 would wait for a body forever,
        /// so there is none (`curl -X POST`), and the connection closes after the answer.
        case noneThenClose
        /// Read this many bytes, then answer.
        case read(bytes: Int)
        /// Answered from the head (the body is never read).
        case refuse(status: Int, code: String, message: String)
    }

    /// Any method may carry a body; it is read (or refused) before the answer, so the connection stays
    /// in step. lws 4.1 does not decode chunked bodies: those are refused (411).
    static func bodyPlan(method: String, contentLength: String?, chunked: Bool, maxBodyBytes: Int) -> BodyPlan {
        let hasBody = ["POST", "PUT", "PATCH"].contains(method) || (contentLength.flatMap { Int($0) } ?? 0) > 0 || chunked
        guard hasBody else { return .none }
        if chunked { return .refuse(status: 411, code: "length-required", message: "send the body with a Content-Length, not chunked") }
        guard let contentLength else { return .noneThenClose }
        guard let bytes = Int(contentLength), bytes >= 0 else { return .refuse(status: 400, code: "bad-request", message: "invalid Content-Length") }
        if bytes > maxBodyBytes {
            return .refuse(status: 413, code: "payload-too-large", message: "the body is over \(maxBodyBytes) bytes")
        }
        return bytes == 0 ? .none : .read(bytes: bytes)
    }

    enum Completion: Equatable {
        /// The body is complete: hand the request to the application.
        case dispatch
        /// Nothing to do (already answered, or lws's one late report of an empty body's end).
        case ignore
        /// The connection is out of step: drop it.
        case drop
    }

    /// lws reports that the body is complete. lws 4.1 reports it again and again when bytes follow a
    /// zero-length body on the same connection (seen under schemathesis: a busy loop). A request
    /// completes once; the one late report of an empty body is tolerated, a second means the
    /// connection is out of step.
    mutating func bodyCompleted() -> Completion {
        if rejected { return .ignore }
        guard dispatched else { return .dispatch }
        guard request.body.isEmpty, !completionSeen else { return .drop }
        completionSeen = true
        return .ignore
    }
}
