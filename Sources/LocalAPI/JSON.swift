import Domain
import Foundation
import HTTPProblem

/// A parsed JSON document. Request bodies are read through `BodyReader`, which knows every
/// field a body may have, so unknown fields and wrong types become field-level errors.
indirect enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One problem with one field of a request, e.g. `services[0].staff: not a UUIDv7 id`.
typealias FieldError = ProblemFieldError

/// Collects field errors while a body is read; `BodyReader.finish` throws them together.
final class FieldErrors: @unchecked Sendable {
    var errors: [FieldError] = []
    func add(_ field: String, _ message: String) { errors.append(FieldError(field: field, message: message)) }
}

/// Reads one JSON object field by field. Every accessor records a specific error instead of
/// throwing, so one response lists every problem; `finish()` also reports fields the endpoint
/// does not know (unknown fields are rejected, see docs/api.md).
struct BodyReader: Sendable {
    let object: [String: JSONValue]
    let path: String
    let errors: FieldErrors
    private let seen = Seen()

    final class Seen: @unchecked Sendable { var keys: Set<String> = [] }

    init(object: [String: JSONValue], path: String = "", errors: FieldErrors) {
        self.object = object
        self.path = path
        self.errors = errors
    }

    /// Parses a request body that must be a JSON object.
    static func parse(_ bytes: [UInt8]) throws(APIError) -> BodyReader {
        guard !bytes.isEmpty else { throw APIError.malformedBody("the request needs a JSON object body") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw APIError.malformedBody("the body is not valid JSON: \(Self.describe(error))")
        }
        guard case .object(let object) = value else { throw APIError.malformedBody("the body must be a JSON object, not \(value.typeName)") }
        return BodyReader(object: object, errors: FieldErrors())
    }

    private static func describe(_ error: any Error) -> String {
        if case Swift.DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
        }
        return "\(error)"
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func value(_ key: String, required: Bool) -> JSONValue? {
        seen.keys.insert(key)
        guard let value = object[key], value != .null else {
            if required { errors.add(name(key), "is required") }
            return nil
        }
        return value
    }

    func has(_ key: String) -> Bool { object[key] != nil }

    /// Why `text` may not be stored: it holds a control character (Unicode Cc: U+0000–U+001F,
    /// U+007F–U+009F) that the field does not allow; nil when it holds none.
    static func controlCharacterProblem(_ text: String, multiline: Bool) -> String? {
        guard let scalar = text.unicodeScalars.first(where: { scalar in
            scalar.properties.generalCategory == .control && !(multiline && (scalar == "\n" || scalar == "\r" || scalar == "\t"))
        }) else { return nil }
        let code = String(format: "U+%04X", scalar.value)
        return multiline ? "must not contain control characters other than line breaks and tabs (found \(code))"
                         : "must not contain control characters (found \(code))"
    }

    func markSeen(_ key: String) { seen.keys.insert(key) }

    /// A string field. Single-line fields (the default) refuse every control character; `multiline`
    /// ones (notes, reasons, addresses) allow line feeds, carriage returns and tabs, and no other.
    func string(_ key: String, required: Bool = false, maxLength: Int = 2000, allowEmpty: Bool = true, multiline: Bool = false) -> String? {
        guard let value = value(key, required: required) else { return nil }
        guard case .string(let text) = value else { errors.add(name(key), "must be a string, not \(value.typeName)"); return nil }
        if text.unicodeScalars.count > maxLength { errors.add(name(key), "is longer than \(maxLength) characters"); return nil }
        if let problem = Self.controlCharacterProblem(text, multiline: multiline) { errors.add(name(key), problem); return nil }
        if !allowEmpty, text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { errors.add(name(key), "must not be empty"); return nil }
        return text
    }

    func integer(_ key: String, required: Bool = false, range: ClosedRange<Int64>) -> Int64? {
        guard let value = value(key, required: required) else { return nil }
        guard case .integer(let number) = value else { errors.add(name(key), "must be an integer, not \(value.typeName)"); return nil }
        guard range.contains(number) else { errors.add(name(key), "must be between \(range.lowerBound) and \(range.upperBound)"); return nil }
        return number
    }

    func int(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        integer(key, required: required, range: Int64(range.lowerBound)...Int64(range.upperBound)).map { Int($0) }
    }

    func bool(_ key: String, required: Bool = false) -> Bool? {
        guard let value = value(key, required: required) else { return nil }
        guard case .bool(let flag) = value else { errors.add(name(key), "must be true or false, not \(value.typeName)"); return nil }
        return flag
    }

    func id<Tag>(_ key: String, required: Bool = false, as type: Identifier<Tag>.Type = Identifier<Tag>.self) -> Identifier<Tag>? {
        guard let text = string(key, required: required, maxLength: 64) else { return nil }
        guard let id = Identifier<Tag>(text) else { errors.add(name(key), "\"\(text)\" is not a UUIDv7 id"); return nil }
        return id
    }

    func instant(_ key: String, required: Bool = false) -> Instant? {
        guard let text = string(key, required: required, maxLength: 64) else { return nil }
        guard let instant = Instant(iso8601: text) else { errors.add(name(key), "\"\(text)\" is not an RFC 3339 date-time with an offset, e.g. 2026-03-01T09:00:00+05:00"); return nil }
        guard Instant.supportedRange.contains(instant) else { errors.add(name(key), "must be between 1970-01-01 and 2200-01-01"); return nil }
        return instant
    }

    func date(_ key: String, required: Bool = false) -> LocalDate? {
        guard let text = string(key, required: required, maxLength: 32) else { return nil }
        guard let date = LocalDate(text) else { errors.add(name(key), "\"\(text)\" is not a date (YYYY-MM-DD)"); return nil }
        guard (1970...2199).contains(date.year) else { errors.add(name(key), "must be a date in the years 1970 to 2199"); return nil }
        return date
    }

    func wallTime(_ key: String, required: Bool = false) -> WallTime? {
        guard let text = string(key, required: required, maxLength: 16) else { return nil }
        guard let time = WallTime(text) else { errors.add(name(key), "\"\(text)\" is not a time of day (HH:MM)"); return nil }
        return time
    }

    func enumeration<T: RawRepresentable>(_ key: String, required: Bool = false, as type: T.Type, allowed: [T]) -> T? where T.RawValue == String {
        guard let text = string(key, required: required, maxLength: 64) else { return nil }
        guard let value = T(rawValue: text), allowed.contains(where: { $0.rawValue == value.rawValue }) else {
            errors.add(name(key), "must be one of \(allowed.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            return nil
        }
        return value
    }

    func object(_ key: String, required: Bool = false) -> BodyReader? {
        guard let value = value(key, required: required) else { return nil }
        guard case .object(let object) = value else { errors.add(name(key), "must be an object, not \(value.typeName)"); return nil }
        return BodyReader(object: object, path: name(key), errors: errors)
    }

    func objects(_ key: String, required: Bool = false, maxCount: Int = 100) -> [BodyReader]? {
        guard let value = value(key, required: required) else { return nil }
        guard case .array(let items) = value else { errors.add(name(key), "must be an array, not \(value.typeName)"); return nil }
        guard items.count <= maxCount else { errors.add(name(key), "has more than \(maxCount) items"); return nil }
        var readers: [BodyReader] = []
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else { errors.add("\(name(key))[\(index)]", "must be an object, not \(item.typeName)"); continue }
            readers.append(BodyReader(object: object, path: "\(name(key))[\(index)]", errors: errors))
        }
        return readers
    }

    func strings(_ key: String, required: Bool = false, maxCount: Int = 100, maxLength: Int = 200) -> [String]? {
        guard let value = value(key, required: required) else { return nil }
        guard case .array(let items) = value else { errors.add(name(key), "must be an array of strings, not \(value.typeName)"); return nil }
        guard items.count <= maxCount else { errors.add(name(key), "has more than \(maxCount) items"); return nil }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item, text.count <= maxLength else {
                errors.add("\(name(key))[\(index)]", "must be a string of at most \(maxLength) characters"); continue
            }
            if let problem = Self.controlCharacterProblem(text, multiline: false) { errors.add("\(name(key))[\(index)]", problem); continue }
            result.append(text)
        }
        return result
    }

    func integers(_ key: String, required: Bool = false, maxCount: Int = 100, range: ClosedRange<Int>) -> [Int]? {
        guard let value = value(key, required: required) else { return nil }
        guard case .array(let items) = value else { errors.add(name(key), "must be an array of integers, not \(value.typeName)"); return nil }
        guard items.count <= maxCount else { errors.add(name(key), "has more than \(maxCount) items"); return nil }
        var result: [Int] = []
        for (index, item) in items.enumerated() {
            guard case .integer(let number) = item, let integer = Int(exactly: number), range.contains(integer) else {
                errors.add("\(name(key))[\(index)]", "must be an integer from \(range.lowerBound) to \(range.upperBound)"); continue
            }
            result.append(integer)
        }
        return result
    }

    /// Records a problem the caller found with a field it read.
    func reject(_ key: String, _ message: String) { errors.add(name(key), message) }

    func stringMap(_ key: String, required: Bool = false, maxCount: Int = 20, maxLength: Int = 2000, multiline: Bool = false) -> [String: String]? {
        guard let value = value(key, required: required) else { return nil }
        guard case .object(let object) = value else { errors.add(name(key), "must be an object of strings, not \(value.typeName)"); return nil }
        guard object.count <= maxCount else { errors.add(name(key), "has more than \(maxCount) entries"); return nil }
        var result: [String: String] = [:]
        for (entry, item) in object {
            guard case .string(let text) = item, text.count <= maxLength else {
                errors.add("\(name(key)).\(entry)", "must be a string of at most \(maxLength) characters"); continue
            }
            if let problem = Self.controlCharacterProblem(entry, multiline: false) ?? Self.controlCharacterProblem(text, multiline: multiline) {
                errors.add("\(name(key)).\(entry)", problem); continue
            }
            result[entry] = text
        }
        return result
    }

    /// Reports fields this reader never asked for.
    func finish() {
        for key in object.keys.sorted() where !seen.keys.contains(key) {
            errors.add(name(key), "is not a field of this request")
        }
    }

    /// Reports unknown fields, then throws every collected error (422) if there are any.
    func validate() throws(APIError) {
        finish()
        if !errors.errors.isEmpty { throw APIError.validation(errors.errors) }
    }
}

/// Query-string parameters, with the same field-level error reporting (400).
struct QueryReader: Sendable {
    let values: [String: [String]]
    /// The parameters the endpoint declares (`Endpoint.query`); any other is unknown, even if read.
    let declared: Set<String>
    let errors = FieldErrors()
    private let seen = BodyReader.Seen()

    init(_ pairs: [(String, String)], declared: Set<String>) {
        var values: [String: [String]] = [:]
        for (key, value) in pairs { values[key, default: []].append(value) }
        self.values = values
        self.declared = declared
    }

    func raw(_ key: String, required: Bool = false) -> String? {
        seen.keys.insert(key)
        guard let value = values[key]?.last else {
            if required { errors.add(key, "is required") }
            return nil
        }
        return value
    }

    func string(_ key: String, required: Bool = false, maxLength: Int = 200) -> String? {
        guard let value = raw(key, required: required) else { return nil }
        guard value.unicodeScalars.count <= maxLength else { errors.add(key, "is longer than \(maxLength) characters"); return nil }
        return value
    }

    func id<Tag>(_ key: String, required: Bool = false, as type: Identifier<Tag>.Type = Identifier<Tag>.self) -> Identifier<Tag>? {
        guard let value = raw(key, required: required) else { return nil }
        guard let id = Identifier<Tag>(value) else { errors.add(key, "\"\(value.prefix(64))\" is not a UUIDv7 id"); return nil }
        return id
    }

    /// Several ids, as repeated parameters or comma-separated.
    func ids<Tag>(_ key: String, required: Bool = false, maxCount: Int = 10, as type: Identifier<Tag>.Type = Identifier<Tag>.self) -> [Identifier<Tag>]? {
        seen.keys.insert(key)
        guard let raw = values[key] else {
            if required { errors.add(key, "is required") }
            return nil
        }
        let parts = raw.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard parts.count <= maxCount else { errors.add(key, "names more than \(maxCount) ids"); return nil }
        var ids: [Identifier<Tag>] = []
        for part in parts {
            guard let id = Identifier<Tag>(part) else { errors.add(key, "\"\(part.prefix(64))\" is not a UUIDv7 id"); return nil }
            ids.append(id)
        }
        return ids
    }

    func int(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        guard let value = raw(key, required: required) else { return nil }
        guard let number = Int(value), range.contains(number) else {
            errors.add(key, "must be an integer between \(range.lowerBound) and \(range.upperBound)"); return nil
        }
        return number
    }

    func bool(_ key: String) -> Bool? {
        guard let value = raw(key) else { return nil }
        switch value {
        case "true", "1": return true
        case "false", "0": return false
        default: errors.add(key, "must be true or false"); return nil
        }
    }

    func instant(_ key: String, required: Bool = false) -> Instant? {
        guard let value = raw(key, required: required) else { return nil }
        guard let instant = Instant(iso8601: value) else { errors.add(key, "\"\(value.prefix(64))\" is not an RFC 3339 date-time with an offset"); return nil }
        guard Instant.supportedRange.contains(instant) else { errors.add(key, "must be between 1970-01-01 and 2200-01-01"); return nil }
        return instant
    }

    func date(_ key: String, required: Bool = false) -> LocalDate? {
        guard let value = raw(key, required: required) else { return nil }
        guard let date = LocalDate(value) else { errors.add(key, "\"\(value.prefix(64))\" is not a date (YYYY-MM-DD)"); return nil }
        guard (1970...2199).contains(date.year) else { errors.add(key, "must be a date in the years 1970 to 2199"); return nil }
        return date
    }

    func enumeration<T: RawRepresentable & CaseIterable>(_ key: String, as type: T.Type) -> [T]? where T.RawValue == String {
        seen.keys.insert(key)
        guard let raw = values[key] else { return nil }
        var result: [T] = []
        for part in raw.flatMap({ $0.split(separator: ",").map(String.init) }) {
            guard let value = T(rawValue: part) else {
                errors.add(key, "\"\(part.prefix(64))\" must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))"); return nil
            }
            result.append(value)
        }
        return result
    }

    /// Throws every collected error (400); unknown parameters are errors too.
    func validate() throws(APIError) {
        for key in values.keys.sorted() where !seen.keys.contains(key) || !declared.contains(key) {
            errors.add(key, "is not a parameter of this endpoint")
        }
        if !errors.errors.isEmpty { throw APIError.invalidParameters(errors.errors) }
    }
}
