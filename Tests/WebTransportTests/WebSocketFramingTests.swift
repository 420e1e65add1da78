import Testing
@testable import WebTransport

/// Reads server-to-client frames back the way RFC 6455 §5.2 says a client must.
private func parseFrames(_ bytes: ArraySlice<UInt8>) -> [(fin: Bool, opcode: UInt8, payload: [UInt8])]? {
    var frames: [(Bool, UInt8, [UInt8])] = []
    var index = bytes.startIndex
    while index < bytes.endIndex {
        guard bytes.endIndex - index >= 2 else { return nil }
        let first = bytes[index], second = bytes[index + 1]
        guard second & 0x80 == 0 else { return nil }  // a server never masks
        var length = Int(second & 0x7F)
        var header = 2
        if length == 126 {
            length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            header = 4
        } else if length == 127 {
            length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[index + 2 + $1]) }
            header = 10
        }
        guard bytes.endIndex - index - header >= length else { return nil }
        frames.append((first & 0x80 != 0, first & 0x0F, Array(bytes[(index + header)..<(index + header + length)])))
        index += header + length
    }
    return frames
}

@Suite("WebSocket framing of coalesced messages")
struct WebSocketFramingTests {
    @Test(arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
    func eachLengthGetsTheHeaderTheRFCRequires(length: Int) throws {
        let header = WebSocketFraming.textFrameHeader(length: length)
        #expect(header.count == (length < 126 ? 2 : length < 65_536 ? 4 : 10))
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: length)
        let frames = try #require(parseFrames(ArraySlice(header + payload)))
        #expect(frames.count == 1)
        #expect(frames[0].fin && frames[0].opcode == 0x1 && frames[0].payload == payload)
    }

    @Test func severalMessagesBecomeConsecutiveFramesAfterTheHeadroom() throws {
        let messages: [[UInt8]] = [Array(#"{"type":"event"}"#.utf8), Array(repeating: 0x61, count: 300), [], Array("é".utf8)]
        let buffer = WebSocketFraming.textFrames(messages.map { ArraySlice($0) }, headroom: 16)
        #expect(buffer.prefix(16).allSatisfy { $0 == 0 })
        let frames = try #require(parseFrames(buffer.dropFirst(16)))
        #expect(frames.map(\.payload) == messages)
        #expect(frames.allSatisfy { $0.fin && $0.opcode == 0x1 })
    }

    /// A commit framed once for every socket, queued behind a single message: the write frames the
    /// single one and copies the framed ones as they are, in order.
    @Test func framedCommitsAndSingleMessagesMixInOrder() throws {
        let single = OutgoingMessage(Array("solo".utf8))
        let commit = OutgoingMessage(frames: [Array("one".utf8), Array(repeating: 0x62, count: 200)])
        #expect(commit.isFramed && !single.isFramed)
        let pre = WebServer.headroom
        let buffer = WebSocketFraming.frames([single, commit].map { ($0.bytes[pre..<(pre + $0.count)], $0.isFramed) }, headroom: pre)
        let frames = try #require(parseFrames(buffer.dropFirst(pre)))
        #expect(frames.map(\.payload) == [Array("solo".utf8), Array("one".utf8), Array(repeating: 0x62, count: 200)])
    }

    @Test func aWriteTakesQueuedMessagesUpToTheLimitButAlwaysOne() {
        func socket(_ sizes: [Int]) -> WebSocketConnection {
            var socket = WebSocketConnection()
            let messages = sizes.map { OutgoingMessage([UInt8](repeating: 0x61, count: $0)) }
            _ = socket.enqueue(messages, bytes: sizes.reduce(0, +), totalQueued: 0, limits: WebServer.Limits())
            return socket
        }
        var queued = socket([3000, 40_000, 30_000, 10])
        #expect(queued.takeBatch(limit: 64 * 1024).map(\.count) == [3000, 40_000])
        #expect(queued.takeBatch(limit: 64 * 1024).map(\.count) == [30_000, 10])
        #expect(queued.queue.isEmpty && queued.queuedBytes == 0 && queued.dequeued == 4)
        var big = socket([100_000, 1])
        #expect(big.takeBatch(limit: 64 * 1024).map(\.count) == [100_000])
        #expect(big.queue.count == 1)
    }

    /// A message emptied by superseded states is taken with the batch but never written.
    @Test func emptiedMessagesAreTakenButNotWritten() {
        var socket = WebSocketConnection()
        let messages = [OutgoingMessage([]), OutgoingMessage(Array("kept".utf8)), OutgoingMessage([])]
        _ = socket.enqueue(messages, bytes: 4, totalQueued: 0, limits: WebServer.Limits())
        #expect(socket.takeBatch(limit: 64 * 1024).map(\.count) == [4])
        #expect(socket.queue.isEmpty && socket.dequeued == 3 && socket.queuedBytes == 0)
    }
}

/// Issue 20, D19: the list is put in the order lws can read, at its own length, before lws reads it.
@Test func theServedSubprotocolIsMovedFirstAtTheListsOwnLength() {
    func first(_ list: String) -> String? { ServiceLoop.servedFirst(Array(list.utf8)).map { String(decoding: $0, as: UTF8.self) } }
    #expect(first("bearer.abc, switchboard") == "switchboard,bearer.abc ")
    #expect(first("a ,\tbearer.x,  switchboard ,b") == "switchboard,a,bearer.x,b" + String(repeating: " ", count: 5))
    #expect(first("switchboard, bearer.abc") == nil)
    #expect(first("bearer.abc") == nil)
    #expect(first("bearer.abc, switchboards") == nil)
    for list in ["bearer.abc, switchboard", "x,,switchboard"] { #expect(first(list)?.utf8.count == list.utf8.count) }
}

/// Issue 20, D19: `bearer.<token>, switchboard` dropped the handshake without a status; a list
/// `servedFirst` cannot rewrite (over two header lines) is answered with the order that works.
@Test func aSubprotocolListThatLwsCannotReadIsRefusedWithTheOrderThatWorks() {
    let token = "bearer." + String(repeating: "a", count: 64)
    #expect(ServiceLoop.subprotocolRefusal("switchboard, \(token)") == nil)
    #expect(ServiceLoop.subprotocolRefusal("bearer.short, switchboard") == nil)
    #expect(ServiceLoop.subprotocolRefusal(nil) == nil)
    let refused = ServiceLoop.subprotocolRefusal("\(token), switchboard")
    #expect(refused?.status == 400)
    let body = String(decoding: refused?.body ?? [], as: UTF8.self)
    #expect(body.contains("switchboard, bearer.<token>"))
}
