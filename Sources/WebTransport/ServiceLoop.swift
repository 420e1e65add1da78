import CLibWebSockets
import Foundation
import Synchronization

/// Wakes the service loop from another thread. `lws_cancel_service` is the one lws call that is safe
/// off the service thread, and only while the context exists: the lock makes "exists" and "call"
/// one step, and the loop invalidates the waker before it destroys the context.
final class ServiceWaker: Sendable {
    private struct Handle: @unchecked Sendable {
        // Safe: the pointer is only dereferenced by lws_cancel_service, under `handle`'s lock, while
        // the context is alive (the service thread clears it before lws_context_destroy).
        let context: OpaquePointer
    }

    private let handle: Mutex<Handle?>

    init(context: OpaquePointer) { handle = Mutex(Handle(context: context)) }

    func wake() {
        handle.withLock { handle in
            if let handle { lws_cancel_service(handle.context) }
        }
    }

    func invalidate() { handle.withLock { $0 = nil } }
}

/// Everything that touches lws, on the service thread only.
final class ServiceLoop {
    let server: WebServer
    private var context: OpaquePointer?
    private var nextId: ConnectionID = 0
    /// Live connections by id (HTTP or WebSocket), and the reverse map from lws's pointer.
    private var wsiById: [ConnectionID: OpaquePointer] = [:]
    private var idByWsi: [OpaquePointer: ConnectionID] = [:]
    private var http: [ConnectionID: PendingHTTP] = [:]
    private var sockets: [ConnectionID: SocketState] = [:]
    /// Requests whose bodies are still arriving, by the address they come from.
    private var unfinishedBodies: [String: Int] = [:]
    /// What every socket's queue holds together (held under `Limits.maxTotalQueuedBytes`).
    private var totalQueued = 0
    private var stopping = false
    private var stoppingSince: UInt64?
    static let headroom = cswitchboard_lws_pre()
    private let pre = cswitchboard_lws_pre()

    struct PendingHTTP {
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
    }

    struct StreamState {
        var piece: [UInt8]?
        var ended = false
        var awaiting = false
    }

    struct SocketState {
        var queue: [OutgoingMessage] = []
        var queuedBytes = 0
        var closeCode: UInt16?
        var closeReason = ""
        var incoming: [UInt8] = []
        /// The client sent its close frame: nothing more is written, so lws can answer it at once.
        var peerClosing = false
    }

    init(server: WebServer) { self.server = server }

    // MARK: - Life cycle

    static func run(server: WebServer) {
        let loop = ServiceLoop(server: server)
        loop.serve()
    }

    private func serve() {
        cswitchboard_lws_quiet_logs()
        // A small receive buffer: clients only send a subscribe message (larger ones arrive in
        // fragments and are put together), and lws allocates this buffer for every connection.
        // Sends are not tied to it: a coalesced write or an HTTP answer goes out in one send().
        let protocols = ProtocolTable(name: Self.subprotocol, callback: serviceCallback, receiveBufferBytes: 512,
                                      largestSendBytes: Self.coalesceLimit + 16 * 1024)
        let retry = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        retry.initialize(to: lws_retry_bo_t())
        retry.pointee.secs_since_valid_ping = server.limits.pingSeconds
        retry.pointee.secs_since_valid_hangup = server.limits.hangUpSeconds
        defer {
            protocols.release()
            retry.deallocate()
        }

        var info = lws_context_creation_info()
        info.port = Int32(server.requestedPort)
        info.protocols = UnsafePointer(protocols.table)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.retry_and_idle_policy = UnsafePointer(retry)
        info.options = UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        info.timeout_secs = 30
        info.max_http_header_data = UInt16(clamping: server.limits.headerBufferBytes)
        let certificate = server.tls.map { strdup($0.certificatePath) }, key = server.tls.map { strdup($0.privateKeyPath) }
        let host = strdup(server.host)
        defer {
            free(certificate ?? nil)
            free(key ?? nil)
            free(host)
        }
        info.iface = UnsafePointer(host)
        // An IPv4 address binds an IPv4 socket (on a dual-stack socket lws would listen on `::`).
        if !server.host.contains(":") { info.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6) }
        if server.tls != nil {
            info.options |= UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT)
            info.ssl_cert_filepath = UnsafePointer(certificate ?? nil)
            info.ssl_private_key_filepath = UnsafePointer(key ?? nil)
        }
        guard let context = lws_create_context(&info) else {
            server.didStart(port: nil, error: "cannot listen on \(server.host) port \(server.requestedPort)", waker: nil)
            return
        }
        self.context = context
        let vhost = lws_get_vhost_by_name(context, "default")
        let port = vhost.map { Int(lws_get_vhost_listen_port($0)) } ?? server.requestedPort
        let waker = ServiceWaker(context: context)
        server.didStart(port: port, error: nil, waker: waker)

        while lws_service(context, 0) >= 0 {
            server.statistics.openWebSocketCount.store(sockets.count, ordering: .relaxed)
            server.statistics.queuedByteCount.store(totalQueued, ordering: .relaxed)
            guard let since = stoppingSince else { continue }
            // Every socket got its 1001; leave once they are gone, or after a grace period regardless.
            if sockets.isEmpty || DispatchTime.now().uptimeNanoseconds - since > 3_000_000_000 { break }
        }
        server.willStop()
        waker.invalidate()
        lws_context_destroy(context)
        self.context = nil
    }

    // MARK: - Callback dispatch

    func callback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            drainInbox()
            return 0
        case LWS_CALLBACK_HTTP:
            guard let wsi else { return -1 }
            return beginHTTP(wsi, path: input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "/")
        case LWS_CALLBACK_HTTP_BODY:
            guard let wsi, let id = idByWsi[wsi], let input, http[id]?.rejected != true else { return 0 }
            if let since = http[id]?.bodySince, Double(DispatchTime.now().uptimeNanoseconds - since) / 1e9 > server.limits.bodySeconds {
                return reject(wsi, id, status: 408, code: "request-timeout",
                              message: "the body did not arrive within \(Int(server.limits.bodySeconds)) s")
            }
            http[id]?.request.body.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
            if (http[id]?.request.body.count ?? 0) > server.limits.maxBodyBytes {
                return reject(wsi, id, status: 413, code: "payload-too-large", message: "the body is over \(server.limits.maxBodyBytes) bytes")
            }
            return 0
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            guard let wsi, let id = idByWsi[wsi], let pending = http[id] else { return -1 }
            if pending.rejected { return 0 }
            // lws 4.1 calls this again and again when bytes follow a zero-length body on the same
            // connection (seen under schemathesis: a busy loop). A request completes once; a second
            // completion means the connection is out of step: drop it.
            guard !pending.dispatched || pending.request.body.isEmpty && !pending.completionSeen else { return -1 }
            if pending.dispatched {
                http[id]?.completionSeen = true
                return 0
            }
            dispatch(id)
            return 0
        case LWS_CALLBACK_HTTP_WRITEABLE:
            guard let wsi, let id = idByWsi[wsi] else { return 0 }
            return writeHTTP(wsi, id)
        case LWS_CALLBACK_CLOSED_HTTP:
            if let wsi {
                if let id = idByWsi[wsi] { bodyEnded(id) }
                forget(wsi)
            }
            return 0
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            guard let wsi else { return 1 }
            let oversized = headRefusal(wsi)
            if oversized == nil { putServedSubprotocolFirst(wsi) }
            let refusal = stopping ? HTTPResponse.error(503, code: "shutting-down", message: "the server is shutting down")
                : oversized ?? Self.subprotocolRefusal(header(wsi, WSI_TOKEN_PROTOCOL))
                    ?? server.application.webSocketRefusal(upgradeRequest(wsi))
                    ?? (sockets.count >= server.limits.maxWebSockets ? Self.full : nil)
            guard let refusal else { return 0 }
            // Refuse with a real HTTP/1.1 status (lws's own helpers answer HTTP/1.0, which clients reject).
            let status = "\(refusal.status) \(Self.reasonPhrases[refusal.status] ?? "Refused")"
            let body = refusal.body
            let headers = refusal.headers.map { "\($0.name): \($0.value)\r\n" }.joined()
            var response = Array(("HTTP/1.1 \(status)\r\ncontent-type: application/json\r\ncontent-length: \(body.count)\r\n"
                                  + headers + "connection: close\r\n\r\n").utf8) + body
            let count = response.count
            response.insert(contentsOf: [UInt8](repeating: 0, count: pre), at: 0)
            _ = response.withUnsafeMutableBufferPointer { raw -> Int32 in
                guard let base = raw.baseAddress else { return -1 }
                return lws_write(wsi, base + pre, count, LWS_WRITE_HTTP_HEADERS)
            }
            return 1
        case LWS_CALLBACK_ESTABLISHED:
            guard let wsi else { return -1 }
            if let old = idByWsi[wsi] { http[old] = nil }
            let id = register(wsi)
            sockets[id] = SocketState()
            server.application.webSocketOpened(id, upgrade: upgradeRequest(wsi), server: server)
            return 0
        case LWS_CALLBACK_RECEIVE:
            guard let wsi, let id = idByWsi[wsi], let input else { return 0 }
            // The protocol is JSON text; a binary frame is data it cannot take (RFC 6455 §7.4.1: 1003).
            if lws_frame_is_binary(wsi) != 0 {
                var reason = Array("binary frames are not part of this protocol: send the subscribe message as text".utf8)
                reason.withUnsafeMutableBufferPointer { buffer in
                    lws_close_reason(wsi, lws_close_status(rawValue: UInt32(CloseCode.unsupportedData)), buffer.baseAddress, buffer.count)
                }
                return -1
            }
            sockets[id]?.incoming.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
            if (sockets[id]?.incoming.count ?? 0) > server.limits.maxMessageBytes {
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(CloseCode.messageTooBig)), nil, 0)
                return -1
            }
            if lws_is_final_fragment(wsi) != 0, lws_remaining_packet_payload(wsi) == 0 {
                let text = sockets[id]?.incoming ?? []
                sockets[id]?.incoming = []
                server.application.webSocketReceived(id, text: text, server: server)
            }
            return 0
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let wsi, let id = idByWsi[wsi] else { return 0 }
            return writeSocket(wsi, id)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            // A client that closes (a page left, a reconnect) gets its close answered now, not after
            // whatever was still queued for it (a catch-up can be long; it once took the client's
            // whole close timeout).
            if let wsi, let id = idByWsi[wsi] {
                sockets[id]?.peerClosing = true
                sockets[id]?.queue = []
                totalQueued -= sockets[id]?.queuedBytes ?? 0
                sockets[id]?.queuedBytes = 0
                server.settle(id)
            }
            return 0
        case LWS_CALLBACK_CLOSED:
            if let wsi, let id = idByWsi[wsi] {
                totalQueued -= sockets[id]?.queuedBytes ?? 0
                sockets[id] = nil
                forget(wsi)
                server.settle(id)
                server.application.webSocketClosed(id)
            }
            return 0
        case LWS_CALLBACK_WSI_DESTROY:
            if let wsi { forget(wsi) }
            return 0
        default:
            return 0
        }
    }

    // MARK: - HTTP

    private func beginHTTP(_ wsi: OpaquePointer, path: String) -> Int32 {
        let id = idByWsi[wsi] ?? register(wsi)
        var uri: UnsafeMutablePointer<CChar>?
        var uriLength: Int32 = 0
        let methodIndex = lws_http_get_uri_and_method(wsi, &uri, &uriLength)
        let methods = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD"]
        let method = methodIndex >= 0 && Int(methodIndex) < methods.count ? methods[Int(methodIndex)] : "UNKNOWN"
        var headers: [String: String] = [:]
        if let refusal = headRefusal(wsi) { return reject(wsi, id, status: refusal.status, response: refusal) }
        if let value = header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH) { headers["if-none-match"] = value }
        if let value = header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE) { headers["content-type"] = value }
        if let value = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) { headers["authorization"] = value }
        let contentLength = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH)
        if let contentLength { headers["content-length"] = contentLength }
        http[id] = PendingHTTP(request: HTTPRequest(method: method, path: path, query: queryArguments(wsi), headers: headers,
                                                    peer: peerAddress(wsi)))
        // Any method may carry a body: read it (or refuse it) before answering, so the connection stays in step.
        let hasBody = ["POST", "PUT", "PATCH"].contains(method) || (contentLength.flatMap { Int($0) } ?? 0) > 0
            || header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil
        guard hasBody else {
            dispatch(id)
            return 0
        }
        // lws 4.1 waits forever for a body without Content-Length, and does not decode chunked bodies:
        // a chunked body is refused; no length at all means no body (`curl -X POST`), and the
        // connection closes after the answer so lws does not wait for one.
        if header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil {
            return reject(wsi, id, status: 411, code: "length-required", message: "send the body with a Content-Length, not chunked")
        }
        guard let contentLength else {
            http[id]?.closeAfter = true
            dispatch(id)
            return 0
        }
        guard let bytes = Int(contentLength), bytes >= 0 else {
            return reject(wsi, id, status: 400, code: "bad-request", message: "invalid Content-Length")
        }
        if bytes > server.limits.maxBodyBytes {
            return reject(wsi, id, status: 413, code: "payload-too-large", message: "the body is over \(server.limits.maxBodyBytes) bytes")
        }
        if bytes == 0 {
            dispatch(id)
            return 0
        }
        // Refused from its headers (no token where one is needed): the body is never read.
        if let pending = http[id], let refusal = server.application.bodyRefusal(pending.request) {
            return reject(wsi, id, status: refusal.status, response: refusal)
        }
        let peer = http[id]?.request.peer ?? ""
        guard unfinishedBodies[peer, default: 0] < server.limits.maxUnfinishedBodiesPerAddress else {
            return reject(wsi, id, status: 429, code: "too-many-unfinished-requests",
                          message: "this address has \(server.limits.maxUnfinishedBodiesPerAddress) requests whose bodies are still arriving")
        }
        unfinishedBodies[peer, default: 0] += 1
        http[id]?.bodySince = DispatchTime.now().uptimeNanoseconds
        // A body that stops arriving is dropped at the deadline (one that trickles gets 408 then).
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, Int32(server.limits.bodySeconds.rounded(.up)))
        return 0
    }

    /// The request's body has all arrived, or it never will: it no longer counts against its address.
    private func bodyEnded(_ id: ConnectionID) {
        guard http[id]?.bodySince != nil, let peer = http[id]?.request.peer else { return }
        http[id]?.bodySince = nil
        let left = (unfinishedBodies[peer] ?? 1) - 1
        unfinishedBodies[peer] = left > 0 ? left : nil
    }

    /// Answers at once with an error and closes the connection (the unread body makes it unusable).
    private func reject(_ wsi: OpaquePointer, _ id: ConnectionID, status: Int, code: String, message: String) -> Int32 {
        reject(wsi, id, status: status, response: HTTPResponse.error(status, code: code, message: message))
    }

    private func reject(_ wsi: OpaquePointer, _ id: ConnectionID, status: Int, response: HTTPResponse) -> Int32 {
        bodyEnded(id)
        http[id, default: PendingHTTP(request: HTTPRequest(method: "?", path: "?"))].response = response
        http[id]?.closeAfter = true
        http[id]?.rejected = true
        lws_callback_on_writable(wsi)
        return 0
    }

    private func dispatch(_ id: ConnectionID) {
        guard let pending = http[id], !pending.dispatched else { return }
        bodyEnded(id)
        http[id]?.dispatched = true
        let request = pending.request
        let server = server
        Task {
            let response = await server.application.handle(request)
            server.respond(id, response)
        }
    }

    private func writeHTTP(_ wsi: OpaquePointer, _ id: ConnectionID) -> Int32 {
        guard let pending = http[id], let response = pending.response else { return 0 }
        if response.bodyStream != nil { return writeStreamed(wsi, id, pending, response) }
        let isHead = pending.request.method == "HEAD"
        let bodyCount = isHead ? 0 : response.body.count
        var buffer = [UInt8](repeating: 0, count: pre + 1024 + response.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 } + bodyCount)
        let result: Int32 = buffer.withUnsafeMutableBufferPointer { raw -> Int32 in
            guard let base = raw.baseAddress else { return -1 }
            let start = base + pre
            var p: UnsafeMutablePointer<UInt8>? = start
            let end = base + raw.count
            guard addHeaders(wsi, response, length: lws_filepos_t(response.body.count), close: pending.closeAfter, &p, end)
            else { return -1 }
            guard var cursor = p else { return -1 }
            if !isHead {
                response.body.withUnsafeBufferPointer { body in
                    if let source = body.baseAddress { cursor.update(from: source, count: body.count) }
                }
                cursor += bodyCount
            }
            // Headers and a small body in one write.
            let written = lws_write(wsi, start, cursor - start, LWS_WRITE_HTTP_HEADERS)
            return written < 0 ? -1 : 0
        }
        http[id]?.response = nil
        if result != 0 || pending.closeAfter { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    /// The status line and headers of `response` into `p…end` (the one place they are written).
    private func addHeaders(_ wsi: OpaquePointer, _ response: HTTPResponse, length: lws_filepos_t, chunked: Bool = false,
                            close: Bool, _ p: inout UnsafeMutablePointer<UInt8>?, _ end: UnsafeMutablePointer<UInt8>) -> Bool {
        if lws_add_http_common_headers(wsi, UInt32(response.status), response.contentType, length, &p, end) != 0 { return false }
        for header in response.headers + (chunked ? [("transfer-encoding", "chunked")] : []) {
            let name = header.0.lowercased() + ":"
            if lws_add_http_header_by_name(wsi, name, header.1, Int32(header.1.utf8.count), &p, end) != 0 { return false }
        }
        if close, lws_add_http_header_by_name(wsi, "connection:", "close", 5, &p, end) != 0 { return false }
        return lws_finalize_http_header(wsi, &p, end) == 0
    }

    /// A streamed body, one step per writeable callback: the headers (chunked), then each piece as it
    /// arrives, then the last chunk. The next piece is asked for only after the previous is written.
    private func writeStreamed(_ wsi: OpaquePointer, _ id: ConnectionID, _ pending: PendingHTTP,
                               _ response: HTTPResponse) -> Int32 {
        guard let next = response.bodyStream else { return -1 }
        let isHead = pending.request.method == "HEAD"
        guard var stream = pending.stream else {
            // The headers: no length, chunked (each piece is framed here; lws sends HTTP bodies as given).
            var buffer = [UInt8](repeating: 0, count: pre + 1024 + response.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 })
            let result: Int32 = buffer.withUnsafeMutableBufferPointer { raw -> Int32 in
                guard let base = raw.baseAddress else { return -1 }
                let start = base + pre
                var p: UnsafeMutablePointer<UInt8>? = start
                let end = base + raw.count
                // lws_filepos_t.max is LWS_ILLEGAL_HTTP_CONTENT_LEN: no content-length header.
                guard addHeaders(wsi, response, length: .max, chunked: !isHead, close: pending.closeAfter || isHead, &p, end)
                else { return -1 }
                guard let cursor = p else { return -1 }
                return lws_write(wsi, start, cursor - start, LWS_WRITE_HTTP_HEADERS) < 0 ? -1 : 0
            }
            if result != 0 || isHead { return -1 }
            http[id]?.stream = StreamState(awaiting: true)
            fetch(id, next)
            return 0
        }
        if let piece = stream.piece, !piece.isEmpty {
            stream.piece = nil
            stream.awaiting = true
            http[id]?.stream = stream
            if writeChunk(wsi, piece) != 0 { return -1 }
            fetch(id, next)
            return 0
        }
        if stream.piece != nil {  // an empty piece: nothing to send, ask for the next
            stream.piece = nil
            stream.awaiting = true
            http[id]?.stream = stream
            fetch(id, next)
            return 0
        }
        guard stream.ended, !stream.awaiting else { return 0 }
        if pending.closeAfter { return -1 }
        if writeChunk(wsi, []) != 0 { return -1 }  // the last chunk
        http[id]?.response = nil
        http[id]?.stream = nil
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    /// Asks the application for the next piece off the service thread.
    private func fetch(_ id: ConnectionID, _ next: @escaping @Sendable () async throws -> [UInt8]?) {
        let server = server
        Task {
            do {
                server.streamed(id, .success(try await next()))
            } catch {
                server.streamed(id, .failure(error))
            }
        }
    }

    /// One HTTP/1.1 chunk (`size CRLF data CRLF`; an empty one ends the body).
    private func writeChunk(_ wsi: OpaquePointer, _ data: [UInt8]) -> Int32 {
        var chunk = [UInt8](repeating: 0, count: pre)
        chunk += Array(String(data.count, radix: 16).utf8) + [13, 10] + data + [13, 10]  // "0\r\n\r\n" ends it
        let count = chunk.count - pre
        let pre = pre
        return chunk.withUnsafeMutableBufferPointer { raw -> Int32 in
            guard let base = raw.baseAddress else { return -1 }
            return lws_write(wsi, base + pre, count, LWS_WRITE_HTTP) < 0 ? -1 : 0
        }
    }

    // MARK: - WebSocket

    private func writeSocket(_ wsi: OpaquePointer, _ id: ConnectionID) -> Int32 {
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
        let batch = Self.takeBatch(from: &socket.queue, limit: Self.coalesceLimit)
        let batchBytes = batch.reduce(0) { $0 + $1.count }
        socket.queuedBytes -= batchBytes
        totalQueued -= batchBytes
        server.wrote(id, bytes: batchBytes)
        let written: Int32
        if batch.count == 1 {
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
    private func putServedSubprotocolFirst(_ wsi: OpaquePointer) {
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

    /// The queued messages one write takes: at least one, then more while they fit in `limit` bytes.
    static func takeBatch(from queue: inout [OutgoingMessage], limit: Int) -> [OutgoingMessage] {
        var taken = 0
        var bytes = 0
        while taken < queue.count, taken == 0 || bytes + queue[taken].count <= limit {
            bytes += queue[taken].count
            taken += 1
        }
        let batch = Array(queue[..<taken])
        queue.removeFirst(taken)
        return batch
    }

    private func drainInbox() {
        for item in server.takeInbox() {
            switch item {
            case .send(let ids, let messages):
                let bytes = messages.reduce(0) { $0 + $1.count }
                for id in ids {
                    guard var socket = sockets.removeValue(forKey: id) else { continue }  // taken out: no copy on append
                    guard socket.closeCode == nil, !socket.peerClosing, let wsi = wsiById[id] else {
                        sockets[id] = socket
                        continue
                    }
                    // A non-empty queue already has a writeable callback coming (the write re-arms
                    // while messages remain): only the first message asks for one.
                    let needsWriteable = socket.queue.isEmpty
                    socket.queue.append(contentsOf: messages)
                    socket.queuedBytes += bytes
                    totalQueued += bytes
                    let overTotal = totalQueued > server.limits.maxTotalQueuedBytes
                        && socket.queuedBytes > server.limits.maxQueuedBytes / 8
                    if socket.queuedBytes > server.limits.maxQueuedBytes || overTotal {
                        // A slow reader never delays anyone else, nor do many of them together: it is
                        // closed and resumes from its last position.
                        socket.closeCode = CloseCode.slowConsumer
                        socket.closeReason = "slow consumer: reconnect with after=<last position>"
                        server.statistics.slowConsumerCloseCount.add(1, ordering: .relaxed)
                        totalQueued -= socket.queuedBytes
                        socket.queue = []
                        socket.queuedBytes = 0
                        server.settle(id)
                        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5)
                    }
                    sockets[id] = socket
                    if needsWriteable || socket.closeCode != nil { lws_callback_on_writable(wsi) }
                }
            case .close(let id, let code, let reason):
                guard let wsi = wsiById[id], sockets[id] != nil else { continue }
                sockets[id]?.closeCode = code
                sockets[id]?.closeReason = reason
                server.settle(id)
                if code == CloseCode.slowConsumer {
                    server.statistics.slowConsumerCloseCount.add(1, ordering: .relaxed)
                    // Given up on: what it has not taken is dropped, and a socket that never becomes
                    // writeable again (its reader stopped) is dropped after the close has had its chance.
                    totalQueued -= sockets[id]?.queuedBytes ?? 0
                    sockets[id]?.queue = []
                    sockets[id]?.queuedBytes = 0
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

    // MARK: - Bookkeeping

    private func register(_ wsi: OpaquePointer) -> ConnectionID {
        nextId += 1
        wsiById[nextId] = wsi
        idByWsi[wsi] = nextId
        return nextId
    }

    private func forget(_ wsi: OpaquePointer) {
        guard let id = idByWsi.removeValue(forKey: wsi) else { return }
        wsiById[id] = nil
        http[id] = nil
        if sockets.removeValue(forKey: id) != nil { server.application.webSocketClosed(id) }
    }

    static let reasonPhrases = [400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                                414: "URI Too Long", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
                                503: "Service Unavailable"]

    /// A WebSocket handshake as the application sees it: path, query, the headers it reads, the peer.
    /// 414 for a path and query over `Limits.maxURIBytes`, 431 for headers over `maxHeaderBytes`
    /// (the headers lws knows by name: it keeps others without a way to list them, so they count only
    /// against its buffer).
    private func headRefusal(_ wsi: OpaquePointer) -> HTTPResponse? {
        let head = HeadSize(wsi)
        if head.uri > server.limits.maxURIBytes {
            return .error(414, code: "uri-too-long", message: "the path and query are over \(server.limits.maxURIBytes) bytes")
        }
        if head.headers > server.limits.maxHeaderBytes {
            return .error(431, code: "headers-too-large", message: "the headers are over \(server.limits.maxHeaderBytes) bytes")
        }
        return nil
    }

    /// What lws holds of a request's head, for the headers it knows by name.
    struct HeadSize {
        /// The path and the query.
        var uri = 0
        /// Every other known header.
        var headers = 0
        /// Bytes of lws's buffer those pieces take, each with its NUL.
        var stored = 0

        init(_ wsi: OpaquePointer) {
            let uriTokens: Set<UInt32> = Set([WSI_TOKEN_GET_URI, WSI_TOKEN_POST_URI, WSI_TOKEN_OPTIONS_URI, WSI_TOKEN_PUT_URI,
                                              WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI, WSI_TOKEN_CONNECT, WSI_TOKEN_HEAD_URI,
                                              WSI_TOKEN_HTTP_URI_ARGS].map(\.rawValue))
            for index in 0..<WSI_TOKEN_COUNT.rawValue {
                let length = Int(lws_hdr_total_length(wsi, lws_token_indexes(rawValue: index)))
                guard length > 0 else { continue }
                if uriTokens.contains(index) { uri += length } else { headers += length }
                stored += length + 1
            }
        }
    }

    private func upgradeRequest(_ wsi: OpaquePointer) -> HTTPRequest {
        var headers: [String: String] = [:]
        let wanted: [(String, lws_token_indexes)] = [
            ("authorization", WSI_TOKEN_HTTP_AUTHORIZATION), ("sec-websocket-protocol", WSI_TOKEN_PROTOCOL),
            ("origin", WSI_TOKEN_ORIGIN), ("host", WSI_TOKEN_HOST),
        ]
        for (name, token) in wanted { if let value = header(wsi, token) { headers[name] = value } }
        return HTTPRequest(method: "GET", path: header(wsi, WSI_TOKEN_GET_URI) ?? "", query: queryArguments(wsi),
                           headers: headers, peer: peerAddress(wsi))
    }

    private func peerAddress(_ wsi: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard lws_get_peer_simple(wsi, &buffer, buffer.count) != nil else { return "" }
        return Self.string(buffer)
    }

    private func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = lws_hdr_total_length(wsi, token)
        guard length > 0, length < 8192 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(length) + 1)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token) >= 0 else { return nil }
        // All of it: a NUL inside a value stays in it (so `Bearer <token>\0junk` is no token), never ends it.
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A NUL-terminated C buffer as a String.
    static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func queryArguments(_ wsi: OpaquePointer) -> [String: String] {
        var arguments: [String: String] = [:]
        var buffer = [CChar](repeating: 0, count: 1024)
        var index: Int32 = 0
        while lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, index) > 0 {
            let fragment = Self.string(buffer)
            if let equals = fragment.firstIndex(of: "=") {
                arguments[String(fragment[..<equals])] = String(fragment[fragment.index(after: equals)...])
            } else {
                arguments[fragment] = ""
            }
            index += 1
        }
        return arguments
    }
}

/// The C callback: finds the loop through the context's user pointer (a C callback cannot capture).
private func serviceCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                             _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let pointer = lws_context_user(context) else { return 0 }
    let loop = Unmanaged<ServiceLoop>.fromOpaque(pointer).takeUnretainedValue()
    return loop.callback(wsi, reason, input, length)
}
