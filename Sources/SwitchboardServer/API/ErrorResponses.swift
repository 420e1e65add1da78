import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardJSON
import WebTransport

/// How each kind of failure is answered: one place maps errors to statuses and JSON bodies.
extension APIServer {
    static var unauthorized: HTTPResponse {
        var response = HTTPResponse.error(401, code: "unauthorized", message: "send a valid bearer token: Authorization: Bearer <token>")
        response.headers.append(("WWW-Authenticate", #"Bearer realm="switchboard""#))
        return response
    }

    /// How each kind of failure is answered.
    static func response(for error: any Error) -> HTTPResponse {
        switch error {
        case let failure as APIError: return .error(failure.status, code: failure.code, message: failure.message)
        case let failure as JSONError: return .error(400, code: "invalid-body", message: failure.description)
        case let failure as DomainError:
            let status = switch failure.kind {
            case .notFound: 404
            case .conflict: 409
            case .invalid: 422
            }
            guard !failure.fieldProblems.isEmpty else { return .error(status, code: failure.code, message: failure.description) }
            let fields = failure.fieldProblems.map { JSONValue.object(["field": .string($0.field), "message": .string($0.message)]) }
            return .json(status, ["error": ["code": .string(failure.code), "message": .string(failure.description),
                                            "fields": .array(fields)]])
        case let failure as EngineUnavailable: return .error(503, code: "engine-stopped", message: failure.description)
        case let failure as ProjectionFailure: return .error(503, code: "projections-stopped", message: failure.description)
        // The log cannot be written (a full disk, an I/O error, a closed store): a part has stopped.
        case let failure as EventStoreError:
            switch failure {
            case .storage, .closed, .readOnly, .cannotOpen, .corrupt:
                return .error(503, code: "store-unavailable", message: failure.description)
            case .wrongExpectedVersion, .invalidAppend:
                return .error(500, code: "internal", message: failure.description)
            }
        default: return .error(500, code: "internal", message: "\(error)")
        }
    }
}

extension HTTPResponse {
    static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse { HTTPResponse(status: status, body: JSONWriter.encode(value)) }
}

/// An error answered as-is, with its status and code.
struct APIError: Error {
    var status: Int
    var code: String
    var message: String
}
