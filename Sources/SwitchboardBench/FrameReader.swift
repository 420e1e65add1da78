import Foundation
import Glibc

/// The fan-out figure's load client: many WebSocket subscriptions read by one thread with `poll`,
/// frames parsed here a header at a time.
///
/// It replaces an lws client loop that spent two thirds of its CPU in the library's byte-at-a-time
/// frame parser (measured with `perf`): a burst — a batch ending and the next starting, ≈ 11
/// messages to each of 500 sockets — kept that client busy for ≈ 30 ms, so the figure's p99 measured
/// the client. A server's frames are unmasked and length-prefixed; reading them is a few comparisons
/// per message, whatever its size.
final class FrameReader {
    struct Report {
        var connected = 0
        var failed = 0
        var closedByServer = 0
        var messages = 0
        /// User + system CPU this process used while the connections were open.
        var cpuSeconds = 0.0
        /// Wall-clock time (ms since the epoch) when the last handshake was settled (answered 101 or
        /// refused): messages before it may be catch-up, not fan-out.
        var allConnectedAtMs: Double?
    }

    private struct Connection {
        var descriptor: Int32
        /// Its place among the requested connections (its path), whichever failed to connect.
        var number: Int
        var open = false
        /// Bytes of a frame not complete yet (or of the handshake's response).
        var pending: [UInt8] = []
        /// A fragmented message's parts so far.
        var fragments: [UInt8] = []
    }

    /// A message's bytes, valid during the call only.
    typealias MessageHandler = (_ connection: Int, _ message: UnsafeRawBufferPointer) -> Void

    private var connections: [Connection] = []
    private var report = Report()
    private let onMessage: MessageHandler
    private var live = 0
    /// The connections asked for, whether or not they connected.
    private var attempts = 0

    private init(onMessage: @escaping MessageHandler) { self.onMessage = onMessage }

    /// Opens a subscription per path (connection `i` on `paths[i % paths.count]`) to `127.0.0.1:port`,
    /// reads for `seconds`, and hands each complete text message to `onMessage` on this thread.
    static func run(port: Int, paths: [String], connections count: Int, seconds: Double, authorization: String?,
                    onMessage: @escaping MessageHandler) -> Report {
        let reader = FrameReader(onMessage: onMessage)
        return reader.run(port: port, paths: paths.isEmpty ? ["/"] : paths, count: count, seconds: seconds,
                          authorization: authorization)
    }

    private func run(port: Int, paths: [String], count: Int, seconds: Double, authorization: String?) -> Report {
        let started = Self.cpuSeconds()
        attempts = count
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        for index in 0..<count {
            let descriptor = Self.connect(port: port)
            guard descriptor >= 0 else {
                report.failed += 1
                continue
            }
            var request = "GET \(paths[index % paths.count]) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
            request += "Connection: Upgrade\r\nSec-WebSocket-Key: c3dpdGNoYm9hcmQtbG9hZA==\r\nSec-WebSocket-Version: 13\r\n"
            if let authorization { request += "Authorization: \(authorization)\r\n" }
            request += "\r\n"
            guard Self.writeAll(descriptor, Array(request.utf8)) else {
                close(descriptor)
                report.failed += 1
                continue
            }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            connections.append(Connection(descriptor: descriptor, number: index))
            live += 1
        }
        var polled = connections.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while live > 0 {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { break }
            let ready = poll(&polled, nfds_t(polled.count), Int32(min(100, (deadline - now) / 1_000_000 + 1)))
            guard ready >= 0 else {
                if errno == EINTR { continue }
                break
            }
            for index in polled.indices where polled[index].revents != 0 {
                scratch.withUnsafeMutableBytes { buffer in
                    while connections[index].descriptor >= 0 {
                        let got = read(connections[index].descriptor, buffer.baseAddress, buffer.count)
                        if got > 0 {
                            received(UnsafeRawBufferPointer(rebasing: buffer[0..<got]), on: index)
                            if got < buffer.count { break }
                        } else if got < 0, errno == EAGAIN || errno == EINTR {
                            break
                        } else {
                            drop(index, closedByServer: true)
                        }
                    }
                }
                polled[index].fd = connections[index].descriptor  // -1 once closed: poll skips it
            }
        }
        report.cpuSeconds = Self.cpuSeconds() - started
        for index in connections.indices where connections[index].descriptor >= 0 { close(connections[index].descriptor) }
        return report
    }

    /// Stamps `allConnectedAtMs` once every handshake has an answer.
    private func settled() {
        if report.connected + report.failed == attempts, report.allConnectedAtMs == nil {
            report.allConnectedAtMs = Date().timeIntervalSince1970 * 1000
        }
    }

    /// New bytes from a connection: the handshake's response first, then frames.
    private func received(_ bytes: UnsafeRawBufferPointer, on index: Int) {
        guard connections[index].open else {
            connections[index].pending.append(contentsOf: bytes)
            let response = connections[index].pending
            guard let end = Self.headerEnd(response) else { return }
            guard response.starts(with: Array("HTTP/1.1 101".utf8)) else {
                report.failed += 1
                settled()
                return drop(index, closedByServer: false)
            }
            connections[index].open = true
            connections[index].pending = []
            report.connected += 1
            settled()
            let rest = Array(response[end...])
            if !rest.isEmpty { rest.withUnsafeBytes { received($0, on: index) } }
            return
        }
        if connections[index].pending.isEmpty {
            let used = frames(in: bytes, on: index)
            if used < bytes.count, connections[index].descriptor >= 0 {
                connections[index].pending.append(contentsOf: bytes[used...])
            }
        } else {
            var pending = connections[index].pending
            connections[index].pending = []
            pending.append(contentsOf: bytes)
            let used = pending.withUnsafeBytes { frames(in: $0, on: index) }
            if used < pending.count, connections[index].descriptor >= 0 {
                connections[index].pending = Array(pending[used...])
            }
        }
    }

    /// Handles every complete frame at the start of `bytes`; returns how many bytes they took.
    private func frames(in bytes: UnsafeRawBufferPointer, on index: Int) -> Int {
        var offset = 0
        while bytes.count - offset >= 2, connections[index].descriptor >= 0 {
            let first = bytes[offset], second = bytes[offset + 1]
            var length = Int(second & 0x7F)
            var header = 2
            if length == 126 {
                guard bytes.count - offset >= 4 else { break }
                length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                header = 4
            } else if length == 127 {
                guard bytes.count - offset >= 10 else { break }
                length = 0
                for byte in bytes[(offset + 2)..<(offset + 10)] { length = length << 8 | Int(byte) }
                header = 10
            }
            guard second & 0x80 == 0, length >= 0, length < 1 << 26 else {  // a server never masks
                drop(index, closedByServer: false)
                break
            }
            guard bytes.count - offset >= header + length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<(offset + header + length)])
            frame(opcode: first & 0x0F, final: first & 0x80 != 0, payload, on: index)
            offset += header + length
        }
        return offset
    }

    private func frame(opcode: UInt8, final: Bool, _ payload: UnsafeRawBufferPointer, on index: Int) {
        switch opcode {
        case 0, 1, 2:
            if final, connections[index].fragments.isEmpty {
                report.messages += 1
                onMessage(connections[index].number, payload)
            } else {
                connections[index].fragments.append(contentsOf: payload)
                guard final else { return }
                let message = connections[index].fragments
                connections[index].fragments = []
                report.messages += 1
                message.withUnsafeBytes { onMessage(connections[index].number, $0) }
            }
        case 8:
            drop(index, closedByServer: true)
        case 9:  // ping: a pong with the same payload (a client masks; a zero key leaves it as it is)
            guard payload.count < 126 else { return }
            _ = Self.writeAll(connections[index].descriptor, [0x8A, 0x80 | UInt8(payload.count), 0, 0, 0, 0] + Array(payload))
        default:
            break
        }
    }

    private func drop(_ index: Int, closedByServer: Bool) {
        guard connections[index].descriptor >= 0 else { return }
        close(connections[index].descriptor)
        connections[index].descriptor = -1
        if closedByServer, connections[index].open { report.closedByServer += 1 }
        live -= 1
    }

    private static func connect(port: Int) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            return -1
        }
        var on: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        return descriptor
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var sent = 0
            while sent < buffer.count {
                let wrote = write(descriptor, base + sent, buffer.count - sent)
                if wrote < 0, errno == EINTR || errno == EAGAIN { continue }
                guard wrote > 0 else { return false }
                sent += wrote
            }
            return true
        }
    }

    /// The index just past a response's blank line, if it has come.
    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
