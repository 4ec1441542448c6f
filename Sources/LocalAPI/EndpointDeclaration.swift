/// A query parameter an endpoint takes (by its name in the OpenAPI document).
struct QueryParameter: Sendable, Hashable, ExpressibleByStringLiteral {
    let name: String
    let isRequired: Bool

    /// An optional parameter: `"limit"`.
    init(stringLiteral name: String) {
        self.name = name
        isRequired = false
    }

    private init(name: String, isRequired: Bool) {
        self.name = name
        self.isRequired = isRequired
    }

    /// A parameter the request must send.
    static func required(_ name: String) -> QueryParameter { QueryParameter(name: name, isRequired: true) }
}

/// The request body an endpoint takes.
enum BodyDeclaration: Sendable, Hashable {
    /// A JSON object of the named schema (`components/schemas`), required.
    case json(String)
    /// A JSON object of the named schema, or no body at all.
    case optionalJSON(String)
    /// A JSON object described in the operation itself (not a named schema).
    case inline(required: Bool)
}

/// What a successful answer carries.
enum AnswerDeclaration: Sendable, Hashable {
    /// A JSON document of the named schema.
    case json(String)
    /// A body of another media type (`text/plain`, `text/event-stream`, …).
    case media(String)
    /// No body (204).
    case empty
}
