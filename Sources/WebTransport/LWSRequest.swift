import CLibWebSockets
import Foundation
import Synchronization

/// Connections by id, and what a request carries, copied out of libwebsockets (headers, query, peer).
extension ServiceLoop {

    func register(_ wsi: OpaquePointer) -> ConnectionID {
        nextId += 1
        wsiById[nextId] = wsi
        idByWsi[wsi] = nextId
        return nextId
    }

    func forget(_ wsi: OpaquePointer) {
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
    func headRefusal(_ wsi: OpaquePointer) -> HTTPResponse? {
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

    func upgradeRequest(_ wsi: OpaquePointer) -> HTTPRequest {
        var headers: [String: String] = [:]
        let wanted: [(String, lws_token_indexes)] = [
            ("authorization", WSI_TOKEN_HTTP_AUTHORIZATION), ("sec-websocket-protocol", WSI_TOKEN_PROTOCOL),
            ("origin", WSI_TOKEN_ORIGIN), ("host", WSI_TOKEN_HOST),
        ]
        for (name, token) in wanted { if let value = header(wsi, token) { headers[name] = value } }
        return HTTPRequest(method: "GET", path: header(wsi, WSI_TOKEN_GET_URI) ?? "", query: queryArguments(wsi),
                           headers: headers, peer: peerAddress(wsi))
    }

    func peerAddress(_ wsi: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard lws_get_peer_simple(wsi, &buffer, buffer.count) != nil else { return "" }
        return Self.string(buffer)
    }

    func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = lws_hdr_total_length(wsi, token)
        guard length > 0, length < 8192 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(length) + 1)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token) >= 0 else { return nil }
        // All of it: a NUL inside a value stays in it (so `Bearer <token>\0junk` is no token), never ends it.
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A header lws does not know by name (it lower-cases every name it parses).
    func customHeader(_ wsi: OpaquePointer, _ name: String) -> String? {
        let key = Array((name + ":").utf8CString)
        let nameLength = Int32(key.count - 1)
        let length = key.withUnsafeBufferPointer { lws_hdr_custom_length(wsi, $0.baseAddress, nameLength) }
        guard length > 0, length < 8192 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(length) + 1)
        let copied = key.withUnsafeBufferPointer { lws_hdr_custom_copy(wsi, &buffer, Int32(buffer.count), $0.baseAddress, nameLength) }
        guard copied >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A NUL-terminated C buffer as a String.
    static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func queryArguments(_ wsi: OpaquePointer) -> [String: String] {
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
