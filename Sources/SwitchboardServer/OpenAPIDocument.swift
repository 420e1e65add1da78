/// The API description served at `GET /openapi.yaml` (kept in the repository as `openapi.yaml`).
enum OpenAPIDocument {
    static let yaml = """
        openapi: 3.1.0
        info: {title: Switchboard, version: 0.1.0}
        paths: {}
        """
}
