import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One problem with one named field or parameter of a request, e.g. `services[0].staff: not a UUIDv7 id`.
public struct ProblemFieldError: Hashable, Sendable, Codable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// An RFC 9457 `application/problem+json` document, the one error format of the box's API and
/// the relay's: `type` is `urn:edgenode:problem:<kind>`.
///
/// However many field errors a request causes, a document lists at most `listedErrorLimit` of
/// them (in `errors` and in `detail`) and counts the rest in `errors_omitted`, so that an answer
/// never grows with the number of mistakes in a request.
public struct ProblemDocument: Sendable, Hashable {
    /// The most field errors a document lists.
    public static let listedErrorLimit = 20
    /// The most characters of a field name or message a document repeats.
    public static let echoedTextLimit = 200

    public var status: Int
    /// The stable kind, e.g. `slot_taken`.
    public var kind: String
    public var title: String
    public var detail: String
    /// The request path (the box's documents carry it; the relay's do not).
    public var instance: String?
    public var errors: [ProblemFieldError]
    /// Seconds; also sent as `Retry-After`.
    public var retryAfter: Int?
    /// For 405: the methods the path allows; also sent as `Allow`.
    public var allow: [String]

    public init(status: Int, kind: String, title: String, detail: String, instance: String? = nil,
                errors: [ProblemFieldError] = [], retryAfter: Int? = nil, allow: [String] = []) {
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.instance = instance
        self.errors = errors
        self.retryAfter = retryAfter
        self.allow = allow
    }

    public var typeURI: String { "urn:edgenode:problem:\(kind)" }

    /// `field: message; field: message …` for the first `listedErrorLimit` errors, and how many more.
    public static func summary(of errors: [ProblemFieldError]) -> String {
        let listed = errors.prefix(listedErrorLimit).map { "\(clip($0.field)): \(clip($0.message))" }.joined(separator: "; ")
        let omitted = errors.count - min(errors.count, listedErrorLimit)
        return omitted > 0 ? "\(listed); and \(omitted) more" : listed
    }

    static func clip(_ text: String) -> String {
        text.count <= echoedTextLimit ? text : String(text.prefix(echoedTextLimit)) + "…"
    }

    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var instance: String?
        var errors: [ProblemFieldError]?
        var errorsOmitted: Int?
        var retryAfter: Int?
    }

    /// The JSON body: keys in snake case and sorted; absent members left out.
    public var body: [UInt8] {
        let listed = errors.prefix(Self.listedErrorLimit).map { ProblemFieldError(field: Self.clip($0.field), message: Self.clip($0.message)) }
        let omitted = errors.count - listed.count
        let value = Body(type: typeURI, title: title, status: status, detail: detail, instance: instance,
                         errors: listed.isEmpty ? nil : Array(listed), errorsOmitted: omitted > 0 ? omitted : nil, retryAfter: retryAfter)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Only non-finite doubles fail to encode, and a problem has none.
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }

    /// The headers that go with the document: its media type, `Retry-After` and `Allow` where they apply.
    public var headers: HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        return headers
    }

    /// The document as a Hummingbird response.
    public var response: Response {
        Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
