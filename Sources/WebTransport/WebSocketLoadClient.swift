import CLibWebSockets
import Foundation
import Synchronization

/// Many WebSocket client connections served by one libwebsockets thread: a load client for the
/// fan-out benchmark.
///
/// A script client (Python `websockets`) saturates a core at a few hundred subscribers and then
/// measures itself, not the server. This one parses nothing but frames (lws does that in C) and
/// hands each complete text message to `onMessage`, so at 1 000 connections it stays a small share
/// of the CPU — which the benchmark prints beside its figures.
public enum WebSocketLoadClient {
    public struct Report: Sendable {
        public var connected = 0
        public var failed = 0
        public var closedByServer = 0
        public var messages = 0
        /// User + system CPU this process used while the connections were open.
        public var cpuSeconds = 0.0
        /// Wall-clock time (ms since the epoch) when the last connection was established: messages
        /// before it may be catch-up, not fan-out.
        public var allConnectedAtMs: Double?
    }

    /// Opens `connections` WebSockets to `ws://host:port/path` and keeps them open for `seconds`,
    /// calling `onMessage(connection index, text)` on this thread for every complete message.
    /// Returns once the time is up (or every connection is gone).
    /// `authorization` is sent as the handshake's `Authorization` header (`Bearer …`).
    public static func run(host: String, port: Int, path: String, connections: Int, seconds: Double,
                           authorization: String? = nil, onMessage: @escaping (Int, [UInt8]) -> Void) -> Report {
        run(host: host, port: port, paths: [path], connections: connections, seconds: seconds, authorization: authorization,
            onMessage: onMessage)
    }

    /// The same with a path per connection: connection `i` opens `paths[i % paths.count]`.
    public static func run(host: String, port: Int, paths: [String], connections: Int, seconds: Double,
                           authorization: String? = nil, onMessage: @escaping (Int, [UInt8]) -> Void) -> Report {
        let loop = ClientLoop(host: host, port: port, paths: paths.isEmpty ? ["/"] : paths, connections: connections,
                              onMessage: onMessage)
        loop.authorization = authorization.map { Array($0.utf8) }
        return loop.run(seconds: seconds)
    }
}

/// The client side's lws state, on the calling thread only (like `ServiceLoop` for the server).
final class ClientLoop {
    let host: String
    let port: Int
    let paths: [String]
    let connections: Int
    let onMessage: (Int, [UInt8]) -> Void
    var authorization: [UInt8]?
    private var indexByWsi: [OpaquePointer: Int] = [:]
    private var partial: [Int: [UInt8]] = [:]
    private var open = 0
    private var finishing = false
    private var report = WebSocketLoadClient.Report()

    init(host: String, port: Int, paths: [String], connections: Int, onMessage: @escaping (Int, [UInt8]) -> Void) {
        self.host = host
        self.port = port
        self.paths = paths
        self.connections = connections
        self.onMessage = onMessage
    }

    func run(seconds: Double) -> WebSocketLoadClient.Report {
        cswitchboard_lws_quiet_logs()
        let protocols = ProtocolTable(name: "switchboard-load", callback: clientCallback, receiveBufferBytes: 65536)
        let address = strdup(host)
        let resources = paths.map { strdup($0) }
        defer {
            protocols.release()
            free(address)
            for resource in resources { free(resource) }
        }
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols.table)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.fd_limit_per_thread = UInt32(connections + 64)
        guard let context = lws_create_context(&info) else {
            report.failed = connections
            return report
        }
        let waker = ServiceWaker(context: context)
        let started = Self.cpuSeconds()
        for index in 0..<connections {
            var connect = lws_client_connect_info()
            connect.context = context
            connect.address = UnsafePointer(address)
            connect.port = Int32(port)
            connect.path = UnsafePointer(resources[index % resources.count])
            connect.host = UnsafePointer(address)  // no Origin: this is not a browser
            connect.local_protocol_name = UnsafePointer(protocols.name)
            connect.ietf_version_or_minus_one = -1
            if let created = lws_client_connect_via_info(&connect) {
                indexByWsi[created] = index
                open += 1
            } else {
                report.failed += 1
            }
        }
        // A timer thread wakes the loop at the deadline (lws_service may otherwise sleep).
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        let timeUp = Flag()
        let timer = Thread {
            while DispatchTime.now().uptimeNanoseconds < deadline { usleep(20_000) }
            timeUp.raise()
            waker.wake()
        }
        timer.start()
        while !timeUp.isRaised, open > 0, lws_service(context, 0) >= 0 {}
        report.cpuSeconds = Self.cpuSeconds() - started
        finishing = true  // closes from here on are ours
        waker.invalidate()
        lws_context_destroy(context)
        while !timeUp.isRaised { usleep(1000) }  // the timer thread ends before the caller goes on
        return report
    }

    func callback(_ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            // `input` is the header writer's cursor (`unsigned char **`); `length`, the room left.
            guard let authorization, let input else { return 0 }
            let cursor = input.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
            guard let start = cursor.pointee else { return -1 }
            let end = start + length
            let added = authorization.withUnsafeBufferPointer { value in
                lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, value.baseAddress, Int32(value.count), cursor, end)
            }
            return added == 0 ? 0 : -1
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            report.connected += 1
            if report.connected == connections { report.allConnectedAtMs = Date().timeIntervalSince1970 * 1000 }
        case LWS_CALLBACK_CLIENT_RECEIVE:
            guard let index = indexByWsi[wsi], let input else { return 0 }
            let bytes = UnsafeRawBufferPointer(start: input, count: length)
            if lws_is_final_fragment(wsi) != 0, lws_remaining_packet_payload(wsi) == 0 {
                var message = partial.removeValue(forKey: index) ?? []
                message.append(contentsOf: bytes)
                report.messages += 1
                onMessage(index, message)
            } else {
                partial[index, default: []].append(contentsOf: bytes)
            }
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            if indexByWsi.removeValue(forKey: wsi) != nil {
                report.failed += 1
                open -= 1
            }
        case LWS_CALLBACK_CLIENT_CLOSED:
            if !finishing, indexByWsi.removeValue(forKey: wsi) != nil {
                report.closedByServer += 1
                open -= 1
            }
        default:
            break
        }
        return 0
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// A one-way flag another thread raises.
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

private func clientCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                            _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let pointer = lws_context_user(context) else { return 0 }
    let loop = Unmanaged<ClientLoop>.fromOpaque(pointer).takeUnretainedValue()
    return loop.callback(wsi, reason, input, length)
}
