/// A small, strict reader for the subset of TOML that the configuration file uses.
///
/// Supported: `#` comments; `[table]` headers (dotted names allowed); `key = value` with bare,
/// "basic" or 'literal' keys, dotted keys included; basic strings with the escapes
/// `\" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX`; literal strings; decimal integers with an optional sign and
/// `_` between digits; `true`/`false`; arrays of strings or of integers, which may span lines and
/// hold comments and a trailing comma.
///
/// Everything else — floats, dates and times, inline tables, arrays of tables, multi-line
/// strings, hexadecimal/octal/binary integers, mixed or nested arrays, duplicate keys, redefined
/// tables, stray text — is refused with the line number and what is wrong. The result is flat:
/// every value under its dotted key (`http.port`); a key segment that is not bare is kept quoted
/// (`"a.b"`), so that it cannot be confused with a dotted key.
public enum TOMLValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case array([TOMLValue])

    /// "a string", "an integer", … for error messages.
    public var kindDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .array: "an array"
        }
    }

    /// The value written as TOML.
    public var description: String {
        switch self {
        case .string(let s): TOMLValue.quoted(s)
        case .integer(let i): String(i)
        case .boolean(let b): b ? "true" : "false"
        case .array(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// `s` as a TOML basic string, escaped.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A parsed TOML document: flat dotted keys with their values and the line each was set on.
public struct TOMLDocument: Sendable, Hashable {
    /// Every value under its dotted key.
    public var values: [String: TOMLValue]
    /// The 1-based line on which each key of `values` was set.
    public var lines: [String: Int]
    /// The tables named by a `[header]`, with the line of the header.
    public var tables: [String: Int]

    /// Parses `text`; throws the first problem found.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLDocument {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }
}

/// A problem in a TOML document: the 1-based line and what is wrong.
public struct TOMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
}

/// Recursive-descent parser over the UTF-8 bytes of the document.
struct TOMLParser {
    let bytes: [UInt8]
    var index = 0
    var line = 1

    // Bookkeeping for duplicate and conflicting definitions; keys are paths of raw segments.
    private var valueLines: [[String]: Int] = [:]
    private var headerLines: [[String]: Int] = [:]
    /// Tables that exist because a longer key or header passes through them, with the first line.
    private var implicitTables: [[String]: Int] = [:]
    /// Tables created by dotted keys (`a.b = 1` creates `a`); a header may not reopen them.
    private var dottedTables: [[String]: Int] = [:]

    private var document = TOMLDocument(values: [:], lines: [:], tables: [:])

    init(bytes: [UInt8]) { self.bytes = bytes }

    // MARK: Document structure

    mutating func parseDocument() throws(TOMLError) -> TOMLDocument {
        var currentTable: [String] = []
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }  // a UTF-8 byte-order mark
        while true {
            skipWhitespace()
            guard let byte = peek() else { break }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                try consumeNewline()
                continue
            case UInt8(ascii: "#"):
                try skipComment()
                continue
            case UInt8(ascii: "["):
                currentTable = try parseTableHeader()
            default:
                try parseKeyValue(in: currentTable)
            }
            try expectEndOfLine()
        }
        return document
    }

    private mutating func parseTableHeader() throws(TOMLError) -> [String] {
        let headerLine = line
        index += 1  // [
        if peek() == UInt8(ascii: "[") {
            throw fail("arrays of tables ([[…]]) are not supported")
        }
        skipWhitespace()
        let path = try parseKey()
        skipWhitespace()
        guard peek() == UInt8(ascii: "]") else {
            throw fail(peek() == nil || isNewline(peek()!) ? "missing ] at the end of the table header" : "unexpected \(describeNext()) in table header")
        }
        index += 1
        let name = flatKey(path)
        if let previous = headerLines[path] {
            throw fail("table [\(name)] is already defined on line \(previous)", line: headerLine)
        }
        if let previous = dottedTables[path] {
            throw fail("table [\(name)] was already created by a dotted key on line \(previous)", line: headerLine)
        }
        try checkPrefixesAreNotValues(path, line: headerLine)
        if let previous = valueLines[path] {
            throw fail("table [\(name)] conflicts with the key \"\(name)\" set on line \(previous)", line: headerLine)
        }
        for length in 1..<path.count {
            let prefix = Array(path[..<length])
            if implicitTables[prefix] == nil { implicitTables[prefix] = headerLine }
        }
        headerLines[path] = headerLine
        document.tables[name] = headerLine
        return path
    }

    private mutating func parseKeyValue(in table: [String]) throws(TOMLError) {
        let keyLine = line
        let keyPath = try parseKey()
        skipWhitespace()
        guard peek() == UInt8(ascii: "=") else {
            if peek() == nil || isNewline(peek()!) || peek() == UInt8(ascii: "#") {
                throw fail("expected = after the key \"\(flatKey(keyPath))\"")
            }
            throw fail("expected = after the key \"\(flatKey(keyPath))\", found \(describeNext())")
        }
        index += 1
        skipWhitespace()
        let value = try parseValue()

        let full = table + keyPath
        let name = flatKey(full)
        if let previous = valueLines[full] {
            throw fail("duplicate key \"\(name)\" (first set on line \(previous))", line: keyLine)
        }
        if let previous = headerLines[full] ?? implicitTables[full] ?? dottedTables[full] {
            throw fail("key \"\(name)\" conflicts with the table of that name defined on line \(previous)", line: keyLine)
        }
        try checkPrefixesAreNotValues(full, line: keyLine)
        for length in (table.count + 1)..<full.count {
            let prefix = Array(full[..<length])
            if headerLines[prefix] != nil {
                throw fail("dotted key \"\(name)\" reopens table [\(flatKey(prefix))] defined on line \(headerLines[prefix]!)", line: keyLine)
            }
            if dottedTables[prefix] == nil { dottedTables[prefix] = keyLine }
        }
        for length in 1..<full.count {
            let prefix = Array(full[..<length])
            if implicitTables[prefix] == nil { implicitTables[prefix] = keyLine }
        }
        valueLines[full] = keyLine
        document.values[name] = value
        document.lines[name] = keyLine
    }

    private func checkPrefixesAreNotValues(_ path: [String], line: Int) throws(TOMLError) {
        for length in 1..<max(path.count, 1) {
            let prefix = Array(path[..<length])
            if let previous = valueLines[prefix] {
                throw fail("\"\(flatKey(path))\" needs \"\(flatKey(prefix))\" to be a table, but it is a value set on line \(previous)", line: line)
            }
        }
    }

    // MARK: Keys

    /// A key: segments separated by dots, each bare, "basic" or 'literal'.
    private mutating func parseKey() throws(TOMLError) -> [String] {
        var segments: [String] = []
        while true {
            skipWhitespace()
            guard let byte = peek() else { throw fail("expected a key, found the end of the file") }
            if byte == UInt8(ascii: "\"") {
                if startsWith("\"\"\"") { throw fail("multi-line strings cannot be keys") }
                segments.append(try parseBasicString())
            } else if byte == UInt8(ascii: "'") {
                if startsWith("'''") { throw fail("multi-line strings cannot be keys") }
                segments.append(try parseLiteralString())
            } else if isBareKeyByte(byte) {
                let start = index
                while let b = peek(), isBareKeyByte(b) { index += 1 }
                segments.append(String(decoding: bytes[start..<index], as: UTF8.self))
            } else if isNewline(byte) || byte == UInt8(ascii: "=") {
                throw fail(segments.isEmpty ? "expected a key" : "expected a key after the dot")
            } else {
                throw fail("unexpected \(describeNext()) where a key was expected (bare keys may contain only A-Z a-z 0-9 _ -; quote others)")
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ".") {
                index += 1
                continue
            }
            return segments
        }
    }

    private func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    /// Joins segments with dots, quoting any that is not a bare key.
    func flatKey(_ path: [String]) -> String {
        path.map { segment in
            !segment.isEmpty && segment.utf8.allSatisfy(isBareKeyByte) ? segment : TOMLValue.quoted(segment)
        }.joined(separator: ".")
    }

    // MARK: Values

    private mutating func parseValue() throws(TOMLError) -> TOMLValue {
        guard let byte = peek(), !isNewline(byte) else { throw fail("expected a value after =") }
        switch byte {
        case UInt8(ascii: "\""):
            if startsWith("\"\"\"") { throw fail("multi-line strings (\"\"\") are not supported") }
            return .string(try parseBasicString())
        case UInt8(ascii: "'"):
            if startsWith("'''") { throw fail("multi-line strings (''') are not supported") }
            return .string(try parseLiteralString())
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "{"):
            throw fail("inline tables are not supported; use a [table] header")
        case UInt8(ascii: "#"):
            throw fail("expected a value after =")
        default:
            return try parseScalarWord()
        }
    }

    /// Integers, booleans, and the things we refuse with a specific message.
    private mutating func parseScalarWord() throws(TOMLError) -> TOMLValue {
        let start = index
        while let b = peek(), !isWhitespace(b), !isNewline(b), b != UInt8(ascii: ","), b != UInt8(ascii: "]"), b != UInt8(ascii: "#") {
            index += 1
        }
        let word = String(decoding: bytes[start..<index], as: UTF8.self)
        switch word {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf", "-inf", "nan", "+nan", "-nan":
            throw fail("floats are not supported (\(word))", line: line)
        case "":
            throw fail("expected a value, found \(describeNext())")
        default: break
        }
        if word.contains(":") || (word.count >= 10 && word.utf8.dropFirst(4).first == UInt8(ascii: "-") && word.utf8.prefix(4).allSatisfy(isDigit)) {
            throw fail("dates and times are not supported (\(word)); write it as a string")
        }
        let body = word.hasPrefix("+") || word.hasPrefix("-") ? word.dropFirst() : Substring(word)
        if body.hasPrefix("0x") || body.hasPrefix("0o") || body.hasPrefix("0b") {
            throw fail("only decimal integers are supported, not \(word)")
        }
        if body.first.map({ $0.isASCII && $0.isNumber }) == true,
           body.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            throw fail("floats are not supported (\(word)); this configuration uses whole numbers")
        }
        return .integer(try parseInteger(word))
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private func parseInteger(_ word: String) throws(TOMLError) -> Int {
        var utf8 = Substring(word).utf8[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        let invalid = TOMLError(line: line, message: "invalid value \(word) (strings need quotes; numbers are decimal integers)")
        guard let first = utf8.first, isDigit(first) else { throw invalid }
        if first == UInt8(ascii: "0") && utf8.count > 1 { throw TOMLError(line: line, message: "leading zeros are not allowed in integers (\(word))") }
        var digits: [UInt8] = []
        var previousWasDigit = false
        for b in utf8 {
            if isDigit(b) {
                digits.append(b)
                previousWasDigit = true
            } else if b == UInt8(ascii: "_") && previousWasDigit {
                previousWasDigit = false
            } else {
                throw invalid
            }
        }
        guard previousWasDigit else { throw invalid }  // ends in _
        var value = 0
        for d in digits {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? times.subtractingReportingOverflow(Int(d - 48)) : times.addingReportingOverflow(Int(d - 48))
            if o1 || o2 { throw TOMLError(line: line, message: "integer \(word) does not fit in 64 bits") }
            value = next
        }
        return value
    }

    private mutating func parseArray() throws(TOMLError) -> TOMLValue {
        let openingLine = line
        index += 1  // [
        var items: [TOMLValue] = []
        while true {
            try skipWhitespaceNewlinesAndComments()
            guard let byte = peek() else { throw fail("unterminated array (opened on line \(openingLine))") }
            if byte == UInt8(ascii: "]") {
                index += 1
                break
            }
            let itemLine = line
            let item = try parseValue()
            if case .array = item { throw fail("nested arrays are not supported", line: itemLine) }
            if case .boolean = item { throw fail("arrays may hold only strings or integers", line: itemLine) }
            if let first = items.first, first.kindDescription != item.kindDescription {
                throw fail("mixed types in array: \(first.kindDescription) and \(item.kindDescription)", line: itemLine)
            }
            items.append(item)
            try skipWhitespaceNewlinesAndComments()
            guard let next = peek() else { throw fail("unterminated array (opened on line \(openingLine))") }
            if next == UInt8(ascii: ",") {
                index += 1
            } else if next == UInt8(ascii: "]") {
                index += 1
                break
            } else {
                throw fail("expected , or ] in array, found \(describeNext())")
            }
        }
        return .array(items)
    }

    // MARK: Strings

    private mutating func parseBasicString() throws(TOMLError) -> String {
        index += 1  // "
        var scalars = String.UnicodeScalarView()
        var pending: [UInt8] = []  // raw UTF-8 run, decoded in bulk
        func flush() {
            if !pending.isEmpty {
                scalars.append(contentsOf: String(decoding: pending, as: UTF8.self).unicodeScalars)
                pending.removeAll(keepingCapacity: true)
            }
        }
        while true {
            guard let byte = peek(), !isNewline(byte) else { throw fail("unterminated string (strings end on the line they start)") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                guard let escape = peek() else { throw fail("unterminated string") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "u"): scalars.append(try parseUnicodeEscape(digits: 4))
                case UInt8(ascii: "U"): scalars.append(try parseUnicodeEscape(digits: 8))
                default:
                    let shown = escape < 0x80 ? String(UnicodeScalar(escape)) : "(non-ASCII)"
                    throw fail("invalid escape \\\(shown) in string (allowed: \\\" \\\\ \\b \\t \\n \\f \\r \\uXXXX \\UXXXXXXXX)")
                }
            case _ where byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F:
                throw fail("control character U+\(hex4(byte)) in string; use an escape")
            default:
                pending.append(byte)
            }
        }
    }

    private mutating func parseUnicodeEscape(digits: Int) throws(TOMLError) -> Unicode.Scalar {
        guard index + digits <= bytes.count else { throw fail("\\u/\\U needs \(digits) hexadecimal digits") }
        let text = String(decoding: bytes[index..<(index + digits)], as: UTF8.self)
        guard text.utf8.allSatisfy({ isHexDigit($0) }), let value = UInt32(text, radix: 16) else {
            throw fail("\\u/\\U needs \(digits) hexadecimal digits, found \"\(text)\"")
        }
        guard let scalar = Unicode.Scalar(value) else { throw fail("\\\(digits == 4 ? "u" : "U")\(text) is not a Unicode scalar value") }
        index += digits
        return scalar
    }

    private func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"))
    }

    private mutating func parseLiteralString() throws(TOMLError) -> String {
        index += 1  // '
        let start = index
        while true {
            guard let byte = peek(), !isNewline(byte) else { throw fail("unterminated literal string (strings end on the line they start)") }
            if byte == UInt8(ascii: "'") { break }
            if byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F {
                throw fail("control character U+\(hex4(byte)) in literal string")
            }
            index += 1
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        index += 1
        return text
    }

    // MARK: Whitespace, comments, lines

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func startsWith(_ s: String) -> Bool {
        let u = Array(s.utf8)
        return index + u.count <= bytes.count && Array(bytes[index..<(index + u.count)]) == u
    }

    private func isWhitespace(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
    private func isNewline(_ b: UInt8) -> Bool { b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") }

    private mutating func skipWhitespace() {
        while let b = peek(), isWhitespace(b) { index += 1 }
    }

    private mutating func consumeNewline() throws(TOMLError) {
        if peek() == UInt8(ascii: "\r") {
            index += 1
            guard peek() == UInt8(ascii: "\n") else { throw fail("carriage return without line feed") }
        }
        index += 1
        line += 1
    }

    private mutating func skipComment() throws(TOMLError) {
        while let b = peek(), !isNewline(b) {
            if b < 0x20 && b != UInt8(ascii: "\t") || b == 0x7F { throw fail("control character U+\(hex4(b)) in comment") }
            index += 1
        }
    }

    private mutating func skipWhitespaceNewlinesAndComments() throws(TOMLError) {
        while let b = peek() {
            if isWhitespace(b) { index += 1 }
            else if isNewline(b) { try consumeNewline() }
            else if b == UInt8(ascii: "#") { try skipComment() }
            else { return }
        }
    }

    /// After a header or key/value: optional whitespace and comment, then a newline or the end.
    private mutating func expectEndOfLine() throws(TOMLError) {
        skipWhitespace()
        guard let b = peek() else { return }
        if b == UInt8(ascii: "#") { try skipComment() }
        guard let next = peek() else { return }
        guard isNewline(next) else { throw fail("unexpected \(describeNext()) at the end of the line (one key = value or [table] per line)") }
        try consumeNewline()
    }

    // MARK: Errors

    private func fail(_ message: String, line: Int? = nil) -> TOMLError {
        TOMLError(line: line ?? self.line, message: message)
    }

    private func hex4(_ b: UInt8) -> String {
        let h = String(b, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - h.count) + h
    }

    /// The next character (or a short run of text) for an error message.
    private func describeNext() -> String {
        guard index < bytes.count else { return "the end of the file" }
        var end = index
        while end < bytes.count, end - index < 12, !isNewline(bytes[end]), !isWhitespace(bytes[end]) || end == index { end += 1 }
        let text = String(decoding: bytes[index..<end], as: UTF8.self)
        return "\"\(text)\""
    }
}
