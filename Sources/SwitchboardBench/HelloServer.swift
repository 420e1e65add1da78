import Foundation
import WebTransport

/// The smallest libwebsockets application: the baseline for the polling figure
/// (`switchboard-bench hello-server --port P`, driven by `scripts/bench_server.py`).
enum HelloServer {
    struct Hello: WebApplication {
        static let body = Array(#"{"hello":"world"}"#.utf8)
        func handle(_ request: HTTPRequest) async -> HTTPResponse { HTTPResponse(status: 200, body: Self.body) }
        func webSocketRefusal(_ upgrade: HTTPRequest) -> HTTPResponse? { .error(404, code: "not-found", message: "no feed") }
        func webSocketOpened(_ connection: ConnectionID, upgrade: HTTPRequest, server: WebServer) {}
        func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer) {}
        func webSocketClosed(_ connection: ConnectionID) {}
    }

    /// Serves until SIGTERM; prints the bound port first.
    static func run(port: Int) {
        let server = WebServer(port: port, application: Hello())
        guard let bound = try? server.start() else {
            FileHandle.standardError.write(Data("hello server: cannot listen on port \(port)\n".utf8))
            exit(1)
        }
        FileHandle.standardOutput.write(Data("hello server listening on http://127.0.0.1:\(bound)\n".utf8))
        let done = DispatchSemaphore(value: 0)
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { done.signal() }
        source.resume()
        done.wait()
        server.shutdown()
    }
}
