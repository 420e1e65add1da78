import CLibWebSockets
import Foundation
import Synchronization

/// WebSockets on the service thread: subprotocols, queued messages written a batch per writeable
/// callback, and the inbox the other threads fill.
extension ServiceLoop {

    func writeSocket(_ wsi: OpaquePointer, _ id: ConnectionID) -> Int32 {
        guard var socket = sockets.removeValue(forKey: id) else { return 0 }  // taken out: no copy on change
        defer { sockets[id] = socket }
        guard !socket.peerClosing else { return 0 }
        if let code = socket.closeCode, socket.queue.isEmpty || code == CloseCode.slowConsumer {
            var reason = Array(socket.closeReason.utf8.prefix(120))
            reason.withUnsafeMutableBufferPointer { buffer in
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(code)), buffer.baseAddress, buffer.count)
            }
            return -1
        }
        guard !socket.queue.isEmpty else { return 0 }
        // Every queued message goes out in this one write: one message from its shared buffer (lws
        // frames it in the headroom), several framed here into one buffer, so a burst (an event and
        // its state messages) costs one send, not one per message.
        let batch = socket.takeBatch(limit: Self.coalesceLimit)
        let batchBytes = batch.reduce(0) { $0 + $1.count }
        totalQueued -= batchBytes
        server.wrote(id, bytes: batchBytes)
        let written: Int32
        if batch.isEmpty {
            written = 0
        } else if batch.count == 1 {
            // One message, or one commit framed once for every socket: written from the shared buffer.
            let message = batch[0]
            let pre = pre
            written = message.bytes.withUnsafeMutableBufferPointer { raw -> Int32 in
                guard let base = raw.baseAddress else { return -1 }
                return lws_write(wsi, base + pre, message.count, message.isFramed ? LWS_WRITE_HTTP : LWS_WRITE_TEXT)
            }
        } else {
            var frames = WebSocketFraming.frames(batch.map { ($0.bytes[pre..<(pre + $0.count)], $0.isFramed) }, headroom: pre)
            let count = frames.count - pre
            // LWS_WRITE_RAW sends the bytes as they are (complete frames); lws buffers a short write itself.
            written = frames.withUnsafeMutableBufferPointer { raw -> Int32 in
                guard let base = raw.baseAddress else { return -1 }
                return lws_write(wsi, base + pre, count, LWS_WRITE_HTTP)
            }
        }
        if written < 0 { return -1 }
        if !socket.queue.isEmpty || socket.closeCode != nil { lws_callback_on_writable(wsi) }
        return 0
    }

    /// The WebSocket subprotocol served.
    static let subprotocol = "switchboard"

    /// lws reads `Sec-WebSocket-Protocol` in order, up to the first name it serves, into a 64-byte
    /// buffer, and drops the handshake without a status at a longer element (`bearer.<64 hex>, switchboard`
    /// did so — issue 20, D19). Such a list is answered 400, saying the order that works.
    static func subprotocolRefusal(_ header: String?) -> HTTPResponse? {
        guard let header else { return nil }
        for element in header.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if element == subprotocol { return nil }
            if element.utf8.count >= 63 {
                return .error(400, code: "subprotocol-order",
                              message: "send Sec-WebSocket-Protocol as one line naming \(subprotocol) first: \(subprotocol), bearer.<token>")
            }
        }
        return nil
    }

    /// The list with the served name moved first, padded with spaces to its own length (so it can be
    /// written over lws's copy in place; lws skips the spaces); nil when it is first already or absent.
    static func servedFirst(_ list: [UInt8]) -> [UInt8]? {
        func trimmed(_ part: ArraySlice<UInt8>) -> [UInt8] {
            let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
            return Array(part.drop(while: blank).reversed().drop(while: blank).reversed())
        }
        var elements = list.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(trimmed)
        let served = Array(subprotocol.utf8)
        guard let at = elements.firstIndex(of: served), at > 0 else { return nil }
        elements.remove(at: at)
        let rewritten = Array(([served] + elements).joined(separator: [UInt8(ascii: ",")]))
        guard rewritten.count <= list.count else { return nil }
        return rewritten + [UInt8](repeating: 0x20, count: list.count - rewritten.count)
    }

    /// Puts the served name first in lws's own copy of `Sec-WebSocket-Protocol` before lws picks a
    /// protocol from it (it cannot read past a long element: see `subprotocolRefusal`). lws 4.1 lends
    /// a pointer only to the request's URI, the first piece of the buffer its headers are kept in; the
    /// list's piece lies after it. It is searched for from there, about as far as the known headers
    /// reach and never past the buffer's end, and rewritten in place at the same length. Not found (a
    /// list over two header lines, long custom headers before it): left as it is, and answered 400.
    /// Run only on a head `headRefusal` admits.
    func putServedSubprotocolFirst(_ wsi: OpaquePointer) {
        guard let value = header(wsi, WSI_TOKEN_PROTOCOL), let rewritten = Self.servedFirst(Array(value.utf8)) else { return }
        var uri: UnsafeMutablePointer<CChar>?
        var uriLength: Int32 = 0
        guard lws_http_get_uri_and_method(wsi, &uri, &uriLength) >= 0, let uri else { return }
        // As far as the known pieces reach, with a byte for every token besides (lws keeps a little it
        // does not list), and never past the buffer, which starts at the URI.
        let known = min(HeadSize(wsi).stored + Int(WSI_TOKEN_COUNT.rawValue), server.limits.headerBufferBytes)
        let stored = UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(uri), count: known)
        let wanted = Array(value.utf8) + [0]
        guard wanted.count <= stored.count else { return }
        for start in 0...(stored.count - wanted.count) where stored[start] == wanted[0] {
            if stored[start..<start + wanted.count].elementsEqual(wanted) {
                UnsafeMutableRawBufferPointer(rebasing: stored[start..<start + rewritten.count]).copyBytes(from: rewritten)
                return
            }
        }
    }

    /// The answer to an upgrade past `Limits.maxWebSockets`: the node serves the sockets it has, the
    /// client retries (a page's reconnect does) or goes to another node.
    static let full: HTTPResponse = {
        var response = HTTPResponse.error(503, code: "feed-full", message: "this server has as many feed sockets as it serves; retry later")
        response.headers.append(("Retry-After", "5"))
        return response
    }()

    /// Most payload bytes one coalesced write carries.
    static let coalesceLimit = 64 * 1024

    func drainInbox() {
        for item in server.takeInbox() {
            switch item {
            case .send(let ids, let messages):
                let bytes = messages.reduce(0) { $0 + $1.count }
                for id in ids {
                    guard let wsi = wsiById[id], var socket = sockets.removeValue(forKey: id) else { continue }  // taken out: no copy on append
                    let superseded = socket.supersedeStates(with: messages, limits: server.limits)
                    if superseded.states > 0 {
                        totalQueued -= superseded.bytes
                        server.wrote(id, bytes: superseded.bytes)  // as good as written: a catch-up paces on it
                        server.statistics.supersededStateCount.add(superseded.states, ordering: .relaxed)
                    }
                    let enqueued = socket.enqueue(messages, bytes: bytes, totalQueued: totalQueued + bytes, limits: server.limits)
                    sockets[id] = socket
                    switch enqueued {
                    case .dropped: continue
                    case .queued: totalQueued += bytes
                    case .askWritable:
                        totalQueued += bytes
                        lws_callback_on_writable(wsi)
                    case .slowConsumer(let freed):
                        totalQueued += bytes - freed
                        server.statistics.slowConsumerCloseCount.add(1, ordering: .relaxed)
                        server.settle(id)
                        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5)
                        lws_callback_on_writable(wsi)
                    }
                }
            case .close(let id, let code, let reason):
                guard let wsi = wsiById[id], sockets[id] != nil else { continue }
                totalQueued -= sockets[id]?.close(code, reason: reason) ?? 0
                server.settle(id)
                if code == CloseCode.slowConsumer {
                    // Given up on: what it had not taken is dropped, and a socket that never becomes
                    // writeable again (its reader stopped) is dropped after the close has had its chance.
                    server.statistics.slowConsumerCloseCount.add(1, ordering: .relaxed)
                    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5)
                }
                lws_callback_on_writable(wsi)
            case .respond(let id, let response):
                guard let wsi = wsiById[id], http[id] != nil else { continue }
                http[id]?.response = response
                lws_callback_on_writable(wsi)
            case .streamed(let id, let piece):
                guard let wsi = wsiById[id], http[id]?.stream != nil else { continue }
                switch piece {
                case .success(let bytes?): http[id]?.stream?.piece = bytes
                case .success(nil): http[id]?.stream?.ended = true
                case .failure:
                    // The status is already sent: the only honest end is to cut the connection (the
                    // client sees a chunked body without its last chunk).
                    http[id]?.closeAfter = true
                    http[id]?.stream?.ended = true
                    http[id]?.stream?.piece = nil
                }
                http[id]?.stream?.awaiting = false
                lws_callback_on_writable(wsi)
            case .shutdown:
                stopping = true
                stoppingSince = DispatchTime.now().uptimeNanoseconds
                for (id, wsi) in wsiById where sockets[id] != nil {
                    sockets[id]?.closeCode = CloseCode.goingAway
                    sockets[id]?.closeReason = "server shutting down"
                    server.settle(id)
                    lws_callback_on_writable(wsi)
                    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 2)
                }
            }
        }
        if stopping, sockets.isEmpty, let context {
            // Nothing left to close: leave the service loop.
            lws_cancel_service(context)
        }
    }
}
