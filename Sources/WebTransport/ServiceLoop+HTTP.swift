import CLibWebSockets
import Foundation
import Synchronization

/// HTTP exchanges on the service thread: head checks, bodies, dispatch to the application, responses
/// written whole or streamed in chunks.
extension ServiceLoop {

    func beginHTTP(_ wsi: OpaquePointer, path: String) -> Int32 {
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
        for name in extraHeaders { if let value = customHeader(wsi, name) { headers[name] = value } }
        let contentLength = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH)
        if let contentLength { headers["content-length"] = contentLength }
        http[id] = HTTPExchange(request: HTTPRequest(method: method, path: path, query: queryArguments(wsi), headers: headers,
                                                    peer: peerAddress(wsi)))
        switch HTTPExchange.bodyPlan(method: method, contentLength: contentLength, chunked: header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil,
                                     maxBodyBytes: server.limits.maxBodyBytes) {
        case .none:
            dispatch(id)
            return 0
        case .noneThenClose:
            http[id]?.closeAfter = true
            dispatch(id)
            return 0
        case .refuse(let status, let code, let message):
            return reject(wsi, id, status: status, code: code, message: message)
        case .read:
            break
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
    func bodyEnded(_ id: ConnectionID) {
        guard http[id]?.bodySince != nil, let peer = http[id]?.request.peer else { return }
        http[id]?.bodySince = nil
        let left = (unfinishedBodies[peer] ?? 1) - 1
        unfinishedBodies[peer] = left > 0 ? left : nil
    }

    /// Answers at once with an error and closes the connection (the unread body makes it unusable).
    func reject(_ wsi: OpaquePointer, _ id: ConnectionID, status: Int, code: String, message: String) -> Int32 {
        reject(wsi, id, status: status, response: HTTPResponse.error(status, code: code, message: message))
    }

    func reject(_ wsi: OpaquePointer, _ id: ConnectionID, status: Int, response: HTTPResponse) -> Int32 {
        bodyEnded(id)
        http[id, default: HTTPExchange(request: HTTPRequest(method: "?", path: "?"))].response = response
        http[id]?.closeAfter = true
        http[id]?.rejected = true
        lws_callback_on_writable(wsi)
        return 0
    }

    func dispatch(_ id: ConnectionID) {
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

    func writeHTTP(_ wsi: OpaquePointer, _ id: ConnectionID) -> Int32 {
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
    func addHeaders(_ wsi: OpaquePointer, _ response: HTTPResponse, length: lws_filepos_t, chunked: Bool = false,
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
    func writeStreamed(_ wsi: OpaquePointer, _ id: ConnectionID, _ pending: HTTPExchange,
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
            http[id]?.stream = HTTPExchange.StreamState(awaiting: true)
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
    func fetch(_ id: ConnectionID, _ next: @escaping @Sendable () async throws -> [UInt8]?) {
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
    func writeChunk(_ wsi: OpaquePointer, _ data: [UInt8]) -> Int32 {
        var chunk = [UInt8](repeating: 0, count: pre)
        chunk += Array(String(data.count, radix: 16).utf8) + [13, 10] + data + [13, 10]  // "0\r\n\r\n" ends it
        let count = chunk.count - pre
        let pre = pre
        return chunk.withUnsafeMutableBufferPointer { raw -> Int32 in
            guard let base = raw.baseAddress else { return -1 }
            return lws_write(wsi, base + pre, count, LWS_WRITE_HTTP) < 0 ? -1 : 0
        }
    }
}
