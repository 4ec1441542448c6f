import Foundation
import Testing
@testable import LocalAPI

/// docs/openapi.yaml (served at /openapi.json, and kept equal to it by scripts/embed-openapi.py)
/// against the endpoints as the code declares them, field by field: a new endpoint, parameter,
/// body or answer that is not documented, or documented and not in the code, fails here.
@Suite("OpenAPI contract")
struct OpenAPIContractTests {
    /// The served document, parsed (never changed after that, so shared as is).
    nonisolated(unsafe) static let document: [String: Any] = {
        let bytes = OpenAPIDocument.json
        return (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:]
    }()

    static func resolve(_ object: [String: Any]) -> [String: Any] {
        guard let reference = object["$ref"] as? String else { return object }
        var node: Any = document
        for part in reference.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] ?? [:] }
        return node as? [String: Any] ?? [:]
    }

    static func schemaName(_ schema: Any?) -> String? {
        ((schema as? [String: Any])?["$ref"] as? String)?.split(separator: "/").last.map(String.init)
    }

    /// The document's operations as "METHOD path".
    static var documented: [String: [String: Any]] {
        var operations: [String: [String: Any]] = [:]
        for (path, item) in document["paths"] as? [String: Any] ?? [:] {
            for (method, operation) in item as? [String: Any] ?? [:] where ["get", "post", "put", "patch", "delete"].contains(method) {
                operations["\(method.uppercased()) \(path)"] = operation as? [String: Any] ?? [:]
            }
        }
        return operations
    }

    @Test("every endpoint is documented and every documented operation is an endpoint")
    func sameOperations() {
        #expect(Set(LocalAPI.endpoints.map { "\($0.method.rawValue) \($0.path)" }) == Set(Self.documented.keys))
        #expect(LocalAPI.endpoints.count == Self.documented.count, "an endpoint is declared twice")
    }

    @Test("each operation documents the endpoint's permission, query parameters, Idempotency-Key, request body and answers")
    func sameContract() throws {
        let operations = Self.documented
        for endpoint in LocalAPI.endpoints {
            let name = "\(endpoint.method.rawValue) \(endpoint.path)"
            guard let operation = operations[name] else { continue }   // sameOperations reports it
            #expect(operation["x-permission"] as? String == endpoint.permission.rawValue, "\(name): permission")

            let parameters = (operation["parameters"] as? [[String: Any]] ?? []).map(Self.resolve)
            let query = parameters.filter { $0["in"] as? String == "query" }
                .map { QueryParameter.required($0["name"] as? String ?? "?").withRequired($0["required"] as? Bool ?? false) }
            #expect(Set(query) == Set(endpoint.query), "\(name): query parameters")
            let headers = Set(parameters.filter { $0["in"] as? String == "header" }.compactMap { $0["name"] as? String })
            // Every mutation takes Idempotency-Key (LocalAPI.idempotent); no GET does.
            #expect(headers.contains("Idempotency-Key") == (endpoint.method != .get), "\(name): Idempotency-Key")

            let requestBody = operation["requestBody"] as? [String: Any]
            let documentedBody: BodyDeclaration? = requestBody.map { body in
                let required = body["required"] as? Bool ?? false
                let schema = ((body["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]
                guard let schemaName = Self.schemaName(schema) else { return .inline(required: required) }
                return required ? .json(schemaName) : .optionalJSON(schemaName)
            }
            #expect(documentedBody == endpoint.body, "\(name): request body")

            var answers: [Int: AnswerDeclaration] = [:]
            for (status, response) in operation["responses"] as? [String: Any] ?? [:] where status.hasPrefix("2") {
                let content = Self.resolve(response as? [String: Any] ?? [:])["content"] as? [String: Any] ?? [:]
                if let json = content["application/json"] as? [String: Any], let schemaName = Self.schemaName(json["schema"]) {
                    answers[Int(status) ?? 0] = .json(schemaName)
                } else if let media = content.keys.first {
                    answers[Int(status) ?? 0] = .media(media)
                } else {
                    answers[Int(status) ?? 0] = .empty
                }
            }
            #expect(answers == endpoint.answers, "\(name): answers")
        }
    }

    @Test("a schema the endpoints name exists in the document")
    func namedSchemasExist() {
        let schemas = (Self.document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
        for endpoint in LocalAPI.endpoints {
            var names: [String] = []
            switch endpoint.body {
            case .json(let name)?, .optionalJSON(let name)?: names.append(name)
            default: break
            }
            for case .json(let name) in endpoint.answers.values { names.append(name) }
            for name in names { #expect(schemas[name] != nil, "\(endpoint.method.rawValue) \(endpoint.path): no schema \(name)") }
        }
    }
}

extension QueryParameter {
    func withRequired(_ required: Bool) -> QueryParameter { required ? .required(name) : QueryParameter(stringLiteral: name) }
}
