import Foundation

/// The API description served at `GET /openapi.yaml` (the file is `Resources/openapi.yaml`).
enum OpenAPIDocument {
    static let yaml: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return Array("openapi: 3.1.0\ninfo: {title: Switchboard, version: unknown}\npaths: {}\n".utf8) }
        return Array(data)
    }()
}
