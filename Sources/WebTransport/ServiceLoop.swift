import CLibWebSockets
import Foundation
import SwitchboardBasics
import Synchronization

/// Wakes the service loop from another thread. `lws_cancel_service` is the one lws call that is safe
/// off the service thread, and only while the context exists: the lock makes "exists" and "call"
/// one step, and the loop invalidates the waker before it destroys the context.
final class ServiceWaker: Sendable {
    struct Handle: @unchecked Sendable {
        // Safe: the pointer is only dereferenced by lws_cancel_service, under `handle`'s lock, while
        // the context is alive (the service thread clears it before lws_context_destroy).
        let context: OpaquePointer
    }

    let handle: Mutex<Handle?>

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
    var context: OpaquePointer?
    var nextId: ConnectionID = 0
    /// Live connections by id (HTTP or WebSocket), and the reverse map from lws's pointer.
    var wsiById: [ConnectionID: OpaquePointer] = [:]
    var idByWsi: [OpaquePointer: ConnectionID] = [:]
    var http: [ConnectionID: HTTPExchange] = [:]
    var sockets: [ConnectionID: WebSocketConnection] = [:]
    /// Requests whose bodies are still arriving, by the address they come from.
    var unfinishedBodies: [String: Int] = [:]
    /// What every socket's queue holds together (held under `Limits.maxTotalQueuedBytes`).
    var totalQueued = 0
    var stopping = false
    var stoppingSince: UInt64?
    static let headroom = cswitchboard_lws_pre()
    let pre = cswitchboard_lws_pre()

    /// The application's own headers (`WebApplication.extraHeaders`), asked once.
    let extraHeaders: [String]

    init(server: WebServer) {
        self.server = server
        extraHeaders = server.application.extraHeaders.map { $0.lowercased() }
    }

    // MARK: - Life cycle

    static func run(server: WebServer) {
        let loop = ServiceLoop(server: server)
        loop.serve()
    }

    func serve() {
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
        // lws's libev plugin on our own epoll loop (see `cswitchboard_ev_loop_new`): a wake-up costs
        // what is ready, not every socket.
        guard let events = cswitchboard_ev_loop_new() else {
            server.didStart(port: nil, error: "cannot create the event loop (epoll)", waker: nil)
            return
        }
        defer { cswitchboard_ev_loop_destroy(events) }
        var foreignLoops: [UnsafeMutableRawPointer?] = [events, nil]
        info.options |= UInt64(LWS_SERVER_OPTION_LIBEV)
        let created = foreignLoops.withUnsafeMutableBufferPointer { loops in
            info.foreign_loops = loops.baseAddress
            return lws_create_context(&info)
        }
        guard let context = created else {
            server.didStart(port: nil, error: "cannot listen on \(server.host) port \(server.requestedPort)", waker: nil)
            return
        }
        self.context = context
        let vhost = lws_get_vhost_by_name(context, "default")
        let port = vhost.map { Int(lws_get_vhost_listen_port($0)) } ?? server.requestedPort
        let waker = ServiceWaker(context: context)
        // Half a second: pings and hang-ups are set in whole seconds (see `cswitchboard_ev_ticker_start`).
        let ticker = cswitchboard_ev_ticker_start(events, context, 0.5)
        defer { cswitchboard_ev_ticker_stop(events, ticker) }
        server.didStart(port: port, error: nil, waker: waker)

        while true {
            // Waiting costs no CPU: the thread's clock counts the callbacks and the writes.
            server.work.measure { _ = cswitchboard_ev_run_once(events) }
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
            guard let wsi, let id = idByWsi[wsi] else { return -1 }
            switch http[id]?.bodyCompleted() {
            case .dispatch?:
                dispatch(id)
                return 0
            case .ignore?: return 0
            case .drop?, nil: return -1
            }
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
            sockets[id] = WebSocketConnection()
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
            let last = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
            switch sockets[id]?.received(UnsafeRawBufferPointer(start: input, count: length), last: last, limit: server.limits.maxMessageBytes) {
            case .tooBig?:
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(CloseCode.messageTooBig)), nil, 0)
                return -1
            case .message(let text)?:
                server.application.webSocketReceived(id, text: text, server: server)
            case .partial?, nil:
                break
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
                totalQueued -= sockets[id]?.peerClosed() ?? 0
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
}


/// The C callback: finds the loop through the context's user pointer (a C callback cannot capture).
private func serviceCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                             _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let pointer = lws_context_user(context) else { return 0 }
    let loop = Unmanaged<ServiceLoop>.fromOpaque(pointer).takeUnretainedValue()
    return loop.callback(wsi, reason, input, length)
}
