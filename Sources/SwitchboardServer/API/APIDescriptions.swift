import Foundation

/// The two descriptions of the API, kept together in `Resources/` and served as they are: the HTTP
/// operations (`GET /openapi.yaml`) and the WebSocket feed (`GET /asyncapi.yaml`).
enum APIDescriptions {
    static let openAPI = resource("openapi", fallback: "openapi: 3.1.0\ninfo: {title: Switchboard, version: unknown}\npaths: {}\n")
    static let asyncAPI = resource("asyncapi", fallback: "asyncapi: 3.0.0\ninfo: {title: Switchboard feed, version: unknown}\n")

    private static func resource(_ name: String, fallback: String) -> [UInt8] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "yaml"), let data = try? Data(contentsOf: url) else {
            return Array(fallback.utf8)
        }
        return Array(data)
    }
}
