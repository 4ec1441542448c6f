import Domain
import Foundation
import HTTPProblem
import Hummingbird
import NIOCore

/// An error response: RFC 9457 `application/problem+json` with a stable `type` per kind.
struct APIError: Error, Sendable {
    var status: Int
    /// The stable kind, e.g. `slot_taken`; the `type` URI is `urn:edgenode:problem:<kind>`.
    var kind: String
    var title: String
    var detail: String
    var errors: [FieldError] = []
    /// Seconds, for 429.
    var retryAfter: Int?
    /// Cookies the answer clears (`Max-Age=0`): the web app's refused credentials.
    var clearCookies: [String] = []
    /// For `held_elsewhere`: what other boxes hold of the account (the problem's `elsewhere` member).
    var elsewhere: [ElsewhereBody]?

    static func malformedBody(_ detail: String) -> APIError {
        APIError(status: 400, kind: "malformed_body", title: "The request body is not valid JSON for this endpoint", detail: detail)
    }

    static func validation(_ errors: [FieldError]) -> APIError {
        APIError(status: 422, kind: "validation_failed", title: "Some fields are invalid", detail: ProblemDocument.summary(of: errors), errors: errors)
    }

    static func invalidParameters(_ errors: [FieldError]) -> APIError {
        APIError(status: 400, kind: "invalid_parameter", title: "Some parameters are invalid", detail: ProblemDocument.summary(of: errors), errors: errors)
    }

    static func unauthenticated(_ detail: String) -> APIError {
        APIError(status: 401, kind: "unauthenticated", title: "Authentication required", detail: detail)
    }

    static func forbidden(_ detail: String) -> APIError {
        APIError(status: 403, kind: "forbidden", title: "Not allowed for this role", detail: detail)
    }

    static func notFound(_ detail: String) -> APIError {
        APIError(status: 404, kind: "not_found", title: "Not found", detail: detail)
    }

}

extension APIError {
    /// Maps a domain error to its status and kind. Only `storage` is the server's fault (503).
    init(_ error: DomainError, now: Instant) {
        let code = error.code.description
        switch error.code {
        case .invalidArgument, .invalidTimeZone, .invalidPhone:
            self.init(status: 422, kind: code, title: "The request is not valid", detail: error.message)
        case .notFound:
            self.init(status: 404, kind: code, title: "Not found", detail: error.message)
        case .invalidToken:
            self.init(status: 404, kind: code, title: "No booking has this tracking token", detail: error.message)
        case .duplicatePhone:
            self.init(status: 409, kind: code, title: "Another client has this phone number", detail: error.message)
        case .slotTaken:
            self.init(status: 409, kind: code, title: "The time was just taken", detail: error.message)
        case .notAvailable:
            self.init(status: 422, kind: code, title: "The time is not bookable", detail: error.message)
        case .illegalTransition:
            self.init(status: 409, kind: code, title: "The appointment's status does not allow this", detail: error.message)
        case .insideCancellationCutoff:
            self.init(status: 409, kind: code, title: "Too close to the start to change online", detail: error.message)
        case .notAuthority:
            self.init(status: 409, kind: code, title: "Only the home branch's box may do this", detail: error.message)
        case .unauthenticated:
            self.init(status: 401, kind: code, title: "Authentication failed", detail: error.message)
        case .locked:
            self.init(status: 429, kind: code, title: "Too many attempts", detail: error.message,
                      retryAfter: error.retryAt.map { max(1, Int(($0.milliseconds - now.milliseconds + 999) / 1000)) } ?? 60)
        case .expired:
            self.init(status: 410, kind: code, title: "Expired or already used", detail: error.message)
        case .conflict:
            self.init(status: 409, kind: code, title: "Conflicts with the current state", detail: error.message)
        case .alreadyCheckedOut:
            self.init(status: 409, kind: code, title: "The appointment is already in a sale", detail: error.message)
        case .approvalRequired:
            self.init(status: 403, kind: code, title: "A manager must approve this", detail: error.message)
        case .aboveCap:
            self.init(status: 403, kind: code, title: "Above the offline cap: a manager must approve", detail: error.message)
        case .overpayment:
            self.init(status: 422, kind: code, title: "More than is due", detail: error.message)
        case .refundExceedsPaid:
            self.init(status: 422, kind: code, title: "More than was paid", detail: error.message)
        case .drawerClosed:
            self.init(status: 409, kind: code, title: "The drawer is not open", detail: error.message)
        case .offlineNotAllowed:
            self.init(status: 409, kind: code, title: "Not while the box is offline", detail: error.message)
        case .gatewayUnavailable:
            self.init(status: 409, kind: code, title: "The payment gateway is not available", detail: error.message)
        case .invalidTemplate:
            self.init(status: 422, kind: code, title: "The template cannot be used", detail: error.message)
        case .senderElsewhere:
            self.init(status: 409, kind: code, title: "Another box sends this branch's messages", detail: error.message)
        case .telegramNotConfigured:
            self.init(status: 409, kind: code, title: "No Telegram bot is set", detail: error.message)
        case .notResendable:
            self.init(status: 409, kind: code, title: "This message cannot be sent again", detail: error.message)
        case .insufficientStock:
            self.init(status: 409, kind: code, title: "Not enough stock", detail: error.message)
        case .couponRefused:
            self.init(status: 409, kind: code, title: "The coupon cannot be used", detail: error.message)
        case .insufficientBalance:
            self.init(status: 409, kind: code, title: "Not enough balance", detail: error.message)
        case .heldElsewhere:
            self.init(status: 409, kind: code, title: "Held by other boxes", detail: error.message)
        case .storage:
            self.init(status: 503, kind: code, title: "The box could not read or write its data", detail: "the replica store failed; the request changed nothing. See the box's log.")
        default:
            self.init(status: 422, kind: code, title: "The request was refused", detail: error.message)
        }
    }
}

extension APIError {
    /// The problem document (at most `ProblemDocument.listedErrorLimit` field errors listed).
    func document(instance: String) -> ProblemDocument {
        ProblemDocument(status: status, kind: kind, title: title, detail: detail, instance: instance, errors: errors, retryAfter: retryAfter)
    }

    /// The document's JSON, with `elsewhere` (appended as the last member) for `held_elsewhere`.
    func body(instance: String) -> [UInt8] {
        let plain = document(instance: instance).body
        guard let elsewhere, plain.last == UInt8(ascii: "}") else { return plain }
        return plain.dropLast() + Array(",\"elsewhere\":".utf8) + APIEncoding.encode(elsewhere) + [UInt8(ascii: "}")]
    }

    /// The problem as a response (its document's headers, `body(instance:)`).
    func response(instance: String) -> Response {
        let document = document(instance: instance)
        return Response(status: .init(code: status), headers: document.headers, body: .init(byteBuffer: ByteBuffer(bytes: body(instance: instance))))
    }

    /// The problem an `HTTPEdgeRequestError` (a body cut short or malformed) stands for.
    init(_ error: HTTPEdgeRequestError) {
        self.init(status: error.problem.status, kind: error.problem.kind, title: error.problem.title, detail: error.problem.detail)
    }
}

/// The one JSON encoder configuration of the API: snake_case keys, sorted for stable output.
enum APIEncoding {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            // Only non-finite doubles fail to encode, and the API has none.
            return Array("{}".utf8)
        }
    }
}

/// What another box holds of an escrow account: `{box, box_name, branch, amount}` (docs/retail.md).
struct ElsewhereBody: Codable, Sendable, Hashable {
    /// The box's site id (hex), as `POST /v1/escrow/moves` takes it.
    var box: String
    var boxName: String
    var branch: String?
    var amount: Int64

    init(_ holding: EscrowHolding) {
        box = holding.site
        boxName = holding.boxName
        branch = holding.branchID?.rawValue
        amount = holding.amount
    }
}
