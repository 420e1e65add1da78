import Foundation
import WebTransport

/// The browser pages (`/console`, `/supervisor`, `/audit`) and the files they load, read once from the
/// module's resources (`Resources/web`).
///
/// Asset URLs carry a version made from the files' bytes (`/assets/<version>/live.js`), so a browser
/// may keep them forever and a new build is fetched at once; the pages themselves are revalidated on
/// every load. Every answer carries a Content-Security-Policy that admits only this server.
struct WebAssets: Sendable {
    struct File: Sendable {
        var bytes: [UInt8]
        var contentType: String
    }

    let version: String
    private let files: [String: File]

    /// Scripts, styles, images and the feed only from this server; no inline script or style, no frames.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
    ]

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    static let shared = WebAssets(directory: Bundle.module.url(forResource: "web", withExtension: nil))

    init(directory: URL?) {
        var loaded: [String: File] = [:]
        let names = directory.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? []
        for name in names.sorted() {
            guard let directory, let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { continue }
            let type = Self.contentTypes[String(name.split(separator: ".").last ?? "")] ?? "application/octet-stream"
            loaded[name] = File(bytes: Array(data), contentType: type)
        }
        // FNV-1a over every name and byte: changes whenever any file does.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for name in loaded.keys.sorted() {
            for byte in Array(name.utf8) + (loaded[name]?.bytes ?? []) {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        version = String(hash, radix: 16)
        // Pages name their assets through `{{version}}`.
        for (name, file) in loaded where name.hasSuffix(".html") {
            let text = String(decoding: file.bytes, as: UTF8.self).replacingOccurrences(of: "{{version}}", with: version)
            loaded[name]?.bytes = Array(text.utf8)
        }
        files = loaded
    }

    /// A page (`console` → `console.html`), never cached without revalidation.
    func page(_ name: String) -> HTTPResponse {
        guard let file = files[name + ".html"] else {
            return .error(404, code: "not-found", message: "no page \(name)")
        }
        return HTTPResponse(status: 200, contentType: file.contentType,
                            headers: Self.securityHeaders + [("Cache-Control", "no-cache")], body: file.bytes)
    }

    /// An asset of this build: cached for a year; an asset asked for under another version (a page
    /// from before a deploy) is this build's file, revalidated every time.
    func asset(_ name: String, version requested: String) -> HTTPResponse {
        guard !name.hasSuffix(".html"), let file = files[name] else {
            return .error(404, code: "not-found", message: "no asset \(name)")
        }
        let caching = requested == version ? "public, max-age=31536000, immutable" : "no-cache"
        return HTTPResponse(status: 200, contentType: file.contentType,
                            headers: Self.securityHeaders + [("Cache-Control", caching)], body: file.bytes)
    }
}
