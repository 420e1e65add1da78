import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchboardServer
import Testing
import WebTransport

/// One way for a test to call the API, over either transport: straight into `APIServer.handle` (in
/// process, on whatever clock the server was given), or through a real libwebsockets port with a real
/// HTTP client. The same test runs over both (the HummingbirdTesting idea: `.router` and `.live`).
struct TestClient {
    enum Transport: String, CaseIterable, CustomTestStringConvertible {
        case inProcess, live
        var testDescription: String { rawValue }
    }

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    let transport: Transport
    let api: APIServer
    private let server: WebServer?
    private let port: Int

    init(_ transport: Transport, api: APIServer) throws {
        self.transport = transport
        self.api = api
        if transport == .live {
            let server = WebServer(port: 0, application: api)
            port = try server.start()
            self.server = server
        } else {
            server = nil
            port = 0
        }
    }

    func close() { server?.shutdown() }

    func call(_ method: String, _ path: String, token: String? = nil, body: String = "") async throws -> Answer {
        var headers: [String: String] = [:]
        if let token { headers["authorization"] = "Bearer " + token }
        switch transport {
        case .inProcess:
            let response = await api.handle(HTTPRequest(method: method, path: path, headers: headers, body: Array(body.utf8)))
            return Answer(status: response.status,
                          headers: Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 }),
                          body: response.body)
        case .live:
            guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw URLError(.badURL) }
            var request = URLRequest(url: url)
            request.httpMethod = method
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            if !body.isEmpty {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
            var found: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { found[name.lowercased()] = value }
            }
            return Answer(status: http.statusCode, headers: found, body: Array(data))
        }
    }
}
