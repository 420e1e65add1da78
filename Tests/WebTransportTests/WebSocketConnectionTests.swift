import Testing
@testable import WebTransport

/// A WebSocket's queue, its close and its incoming fragments, without a socket.
@Suite("A WebSocket connection")
struct WebSocketConnectionTests {
    static func messages(_ sizes: [Int]) -> [OutgoingMessage] { sizes.map { OutgoingMessage([UInt8](repeating: 0x61, count: $0)) } }

    var limits: WebServer.Limits {
        var limits = WebServer.Limits()
        limits.maxQueuedBytes = 1000
        limits.maxTotalQueuedBytes = 4000
        return limits
    }

    @Test func onlyTheFirstQueuedMessageAsksForAWriteableCallback() {
        var socket = WebSocketConnection()
        #expect(socket.enqueue(Self.messages([100]), bytes: 100, totalQueued: 100, limits: limits) == .askWritable)
        #expect(socket.enqueue(Self.messages([100, 50]), bytes: 150, totalQueued: 250, limits: limits) == .queued)
        #expect(socket.queue.count == 3 && socket.queuedBytes == 250)
    }

    @Test func aSlowReaderIsClosed4008AndItsQueueFreedWhetherItsOwnOrAllQueuesAreOverTheirLimit() {
        var own = WebSocketConnection()
        _ = own.enqueue(Self.messages([600]), bytes: 600, totalQueued: 600, limits: limits)
        #expect(own.enqueue(Self.messages([600]), bytes: 600, totalQueued: 1200, limits: limits) == .slowConsumer(freed: 1200))
        #expect(own.closeCode == CloseCode.slowConsumer && own.queue.isEmpty && own.queuedBytes == 0)
        #expect(own.enqueue(Self.messages([10]), bytes: 10, totalQueued: 10, limits: limits) == .dropped, "a closing socket takes nothing")
        // Together over the total: a socket holding more than an eighth of its own limit goes; a small one stays.
        var small = WebSocketConnection()
        #expect(small.enqueue(Self.messages([100]), bytes: 100, totalQueued: 4100, limits: limits) == .askWritable)
        var share = WebSocketConnection()
        #expect(share.enqueue(Self.messages([200]), bytes: 200, totalQueued: 4200, limits: limits) == .slowConsumer(freed: 200))
    }

    @Test func aPeerThatClosesIsAnsweredAtOnceNotAfterItsQueue() {
        var socket = WebSocketConnection()
        _ = socket.enqueue(Self.messages([300, 300]), bytes: 600, totalQueued: 600, limits: limits)
        #expect(socket.peerClosed() == 600)
        #expect(socket.queue.isEmpty && socket.peerClosing)
        #expect(socket.enqueue(Self.messages([10]), bytes: 10, totalQueued: 10, limits: limits) == .dropped)
        var closing = WebSocketConnection()
        _ = closing.enqueue(Self.messages([300]), bytes: 300, totalQueued: 300, limits: limits)
        #expect(closing.close(4001, reason: "the token was revoked") == 0, "an ordinary close lets the queue go out first")
        #expect(closing.queue.count == 1 && closing.closeCode == 4001)
    }

    @Test func fragmentsMakeOneMessageUpToTheLimit() {
        var socket = WebSocketConnection()
        let first = Array(#"{"subscribe":"#.utf8), second = Array(#"{"after":0}}"#.utf8)
        #expect(first.withUnsafeBytes { socket.received($0, last: false, limit: 64) } == .partial)
        #expect(second.withUnsafeBytes { socket.received($0, last: true, limit: 64) } == .message(first + second))
        #expect(socket.incoming.isEmpty)
        let big = [UInt8](repeating: 0x61, count: 65)
        #expect(big.withUnsafeBytes { socket.received($0, last: true, limit: 64) } == .tooBig)
    }
}
