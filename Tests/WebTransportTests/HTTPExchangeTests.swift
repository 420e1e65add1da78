import Testing
@testable import WebTransport

/// An HTTP exchange's decisions, without a socket — including the two places libwebsockets 4.1 must
/// not be trusted (a body without a length; the end of an empty body reported again and again).
@Suite("An HTTP exchange")
struct HTTPExchangeTests {
    func plan(_ method: String, length: String? = nil, chunked: Bool = false) -> HTTPExchange.BodyPlan {
        HTTPExchange.bodyPlan(method: method, contentLength: length, chunked: chunked, maxBodyBytes: 64 * 1024)
    }

    @Test func theBodyIsPlannedFromTheHead() {
        #expect(plan("GET") == .none)
        #expect(plan("GET", length: "0") == .none)
        #expect(plan("DELETE", length: "12") == .read(bytes: 12), "any method may carry a body: read it to stay in step")
        #expect(plan("POST", length: "0") == .none)
        #expect(plan("POST", length: "17") == .read(bytes: 17))
        #expect(plan("POST", length: "-1") == .refuse(status: 400, code: "bad-request", message: "invalid Content-Length"))
        #expect(plan("POST", length: "x") == .refuse(status: 400, code: "bad-request", message: "invalid Content-Length"))
        guard case .refuse(413, "payload-too-large", _) = plan("PUT", length: String(64 * 1024 + 1)) else {
            Issue.record("a body over the limit is refused from its head")
            return
        }
    }

    /// lws 4.1 waits forever for a body that has no length and does not decode chunked ones.
    @Test func aBodyWithoutALengthIsNoBodyAndAChunkedOneIsRefused() {
        #expect(plan("POST") == .noneThenClose)
        #expect(plan("PATCH") == .noneThenClose)
        guard case .refuse(411, "length-required", _) = plan("POST", chunked: true) else {
            Issue.record("chunked is refused 411")
            return
        }
        guard case .refuse(411, _, _) = plan("GET", chunked: true) else {
            Issue.record("a chunked body on any method is refused")
            return
        }
    }

    /// lws 4.1 reports an empty body's end again and again when bytes follow it on the connection: the
    /// request is handled once, one late report is tolerated, the next drops the connection.
    @Test func aRequestCompletesOnceAndARepeatedCompletionDropsTheConnection() {
        var empty = HTTPExchange(request: HTTPRequest(method: "POST", path: "/v1/queues"))
        #expect(empty.bodyCompleted() == .dispatch)
        empty.dispatched = true
        #expect(empty.bodyCompleted() == .ignore)
        #expect(empty.bodyCompleted() == .drop)

        var full = HTTPExchange(request: HTTPRequest(method: "POST", path: "/v1/queues", body: Array("{}".utf8)))
        full.dispatched = true
        #expect(full.bodyCompleted() == .drop, "a body that was read completes once")

        var rejected = HTTPExchange(request: HTTPRequest(method: "POST", path: "/v1/queues"))
        rejected.rejected = true
        #expect(rejected.bodyCompleted() == .ignore)
        #expect(rejected.bodyCompleted() == .ignore, "an answered request ignores whatever lws still reports")
    }
}
