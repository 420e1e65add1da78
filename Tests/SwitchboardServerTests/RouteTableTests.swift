import DialerCore
import Foundation
import SwitchboardJSON
@testable import SwitchboardServer
import Testing
import WebTransport
import Yams

@Suite("Every route declared once")
struct RouteTableTests {
    /// `METHOD /path/{param}` → its `x-roles`, for every operation `openapi.yaml` documents (read with Yams).
    static func documentedOperations() throws -> [String: [String]] {
        let document = try #require(try Yams.load(yaml: String(decoding: APIDescriptions.openAPI, as: UTF8.self)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var operations: [String: [String]] = [:]
        for (path, item) in paths {
            for (method, operation) in try #require(item as? [String: Any]) where ["get", "post", "patch", "put", "delete"].contains(method) {
                operations["\(method.uppercased()) \(path)"] = (operation as? [String: Any])?["x-roles"] as? [String] ?? []
            }
        }
        return operations
    }

    @Test func theRouteTableAndOpenAPIDescribeTheSameOperationsAndRoles() throws {
        let routed = Dictionary(uniqueKeysWithValues: APIServer.routes.routes.map { ("\($0.method) /\($0.pattern)", $0.access.documented) })
        let documented = try Self.documentedOperations()
        #expect(!documented.isEmpty)
        #expect(Set(routed.keys).subtracting(documented.keys).isEmpty, "routed but not documented")
        #expect(Set(documented.keys).subtracting(routed.keys).isEmpty, "documented but not routed")
        for (operation, roles) in routed {
            #expect(documented[operation] == roles, "x-roles of \(operation)")
        }
    }

    /// Issue 19: the do-not-call limit per request is one constant; the OpenAPI and the event's schema
    /// (an import writes events of that size) say it, and the server refuses one more.
    @Test func theDoNotCallLimitIsTheDomainsConstantWhereverItIsWritten() throws {
        let document = try #require(try Yams.load(yaml: String(decoding: APIDescriptions.openAPI, as: UTF8.self)) as? [String: Any])
        let documented = ((((((((document["paths"] as? [String: Any])?["/v1/dnc"] as? [String: Any])?["post"] as? [String: Any])?["requestBody"]
            as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any])?["properties"]
            as? [String: Any]).flatMap { ($0["phones"] as? [String: Any])?["maxItems"] as? Int }
        #expect(documented == DialerState.maxDoNotCallPerCommand)
        let schemaFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("EventSchemas/dnc.added.v1.schema.json")
        let schema = try JSONParser.parse(Array(try Data(contentsOf: schemaFile)))
        let data = schema["allOf"]?.arrayValue?.last?["properties"]?["data"]
        #expect(data?["properties"]?["phones"]?["maxItems"]?.intValue == Int64(DialerState.maxDoNotCallPerCommand))
    }

    @Test func aKnownPathWithAnotherMethodIsAnsweredWithItsAllowedMethods() {
        guard case .methodNotAllowed(let allowed) = APIServer.routes.lookup(method: "DELETE", path: "/v1/sessions/s1") else {
            Issue.record("expected 405")
            return
        }
        #expect(Set(allowed) == ["GET", "PATCH"])
        guard case .found(let route, let parameters) = APIServer.routes.lookup(method: "POST", path: "/v1/calls/parallel/g-1/terminate")
        else {
            Issue.record("expected a route")
            return
        }
        #expect(route.pattern == "v1/calls/parallel/{groupId}/terminate")
        #expect(parameters == ["groupId": "g-1"])
        // A literal segment wins over a template: the timeline is GET only, not a session action.
        guard case .methodNotAllowed(let timeline) = APIServer.routes.lookup(method: "POST", path: "/v1/sessions/s1/timeline")
        else {
            Issue.record("expected 405")
            return
        }
        #expect(timeline == ["GET"])
        // A literal segment wins over a template: the timeline is GET only, not a session action.
        guard case .methodNotAllowed(let timeline) = APIServer.routes.lookup(method: "POST", path: "/v1/sessions/s1/timeline")
        else {
            Issue.record("expected 405")
            return
        }
        #expect(timeline == ["GET"])
        guard case .notFound = APIServer.routes.lookup(method: "GET", path: "/v1/nothing") else {
            Issue.record("expected 404")
            return
        }
    }

    @Test func errorBodiesAreEscapedJSON() throws {
        let response = HTTPResponse.error(400, code: "bad", message: #"a "quoted" \ path"#)
        let parsed = try JSONParser.parse(response.body)
        #expect(parsed["error"]?["message"]?.stringValue == #"a "quoted" \ path"#)
        #expect(parsed["error"]?["code"] == "bad")
    }
}
