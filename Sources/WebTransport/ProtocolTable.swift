import CLibWebSockets
import Foundation

/// The one-protocol, zero-terminated `lws_protocols` table a context is created with, and the C
/// string of its name; both must outlive the context. Used by the server and the load client.
struct ProtocolTable {
    typealias Callback = @convention(c) (OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?,
                                         UnsafeMutableRawPointer?, Int) -> Int32

    let name: UnsafeMutablePointer<CChar>
    let table: UnsafeMutablePointer<lws_protocols>

    init(name protocolName: String, callback: Callback, receiveBufferBytes: Int = 0, largestSendBytes: Int = 0) {
        name = strdup(protocolName)
        table = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
        table.initialize(repeating: lws_protocols(), count: 2)
        table[0].name = UnsafePointer(name)
        table[0].callback = callback
        table[0].rx_buffer_size = receiveBufferBytes
        // 0 would cap every send() at the receive buffer's size (lws's backwards-compatible default).
        table[0].tx_packet_size = largestSendBytes
    }

    /// Call after `lws_context_destroy`.
    func release() {
        table.deallocate()
        free(name)
    }
}
