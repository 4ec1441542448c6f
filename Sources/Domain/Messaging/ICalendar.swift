/// Writes iCalendar text (RFC 5545): components, properties with parameters, TEXT escaping
/// (§3.3.11), UTC date-times (§3.3.5, form #2), every content line ended by CRLF and folded at
/// 75 octets (§3.1) without splitting a UTF-8 sequence. Pure: no clock, no storage.
///
/// ```swift
/// var calendar = ICalendarWriter()
/// calendar.begin("VCALENDAR")
/// calendar.raw("VERSION", "2.0")
/// calendar.text("X-WR-CALNAME", "Aigerim")
/// calendar.end("VCALENDAR")
/// calendar.text   // "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n…"
/// ```
public struct ICalendarWriter: Sendable {
    /// The longest content line, in octets, before it is folded (not counting the CRLF).
    public static let lineLimit = 75

    private var bytes: [UInt8] = []

    public init() {}

    /// The calendar written so far.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// `BEGIN:<name>`.
    public mutating func begin(_ component: String) { line("BEGIN:" + component) }

    /// `END:<name>`.
    public mutating func end(_ component: String) { line("END:" + component) }

    /// A property whose value type is TEXT (SUMMARY, DESCRIPTION, X-WR-CALNAME…): the value is escaped.
    public mutating func text(_ name: String, _ value: String, parameters: [(String, String)] = []) {
        raw(name, Self.escape(value), parameters: parameters)
    }

    /// A property whose value is written as given: a DATE-TIME, an INTEGER, a DURATION, a token.
    public mutating func raw(_ name: String, _ value: String, parameters: [(String, String)] = []) {
        var line = name
        for (parameter, parameterValue) in parameters { line += ";" + parameter + "=" + Self.parameterValue(parameterValue) }
        self.line(line + ":" + value)
    }

    /// A DATE-TIME property in UTC, e.g. `DTSTART:20260303T050000Z` (no TZID, so no VTIMEZONE is needed).
    public mutating func dateTime(_ name: String, _ instant: Instant) { raw(name, Self.dateTime(instant)) }

    /// One content line, folded, ended by CRLF.
    private mutating func line(_ content: String) { bytes += Self.fold(content) }

    // MARK: Value encodings

    /// TEXT escaping (RFC 5545 §3.3.11): backslash, semicolon and comma get a backslash; a line
    /// break (CRLF, CR or LF) becomes `\n`. Other control characters, which TEXT may not hold
    /// (§3.3.11: no CONTROL but HTAB), are left out.
    public static func escape(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\\": result.append(contentsOf: "\\\\".unicodeScalars)
            case ";": result.append(contentsOf: "\\;".unicodeScalars)
            case ",": result.append(contentsOf: "\\,".unicodeScalars)
            case "\r": result.append(contentsOf: "\\n".unicodeScalars)
            case "\n": if !previousWasCR { result.append(contentsOf: "\\n".unicodeScalars) }
            case "\t": result.append(scalar)
            default:
                if scalar.properties.generalCategory == .control { continue }
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// The reverse of `escape(_:)` (a parser's view of a TEXT value), for tests and tools.
    public static func unescape(_ text: String) -> String {
        var result = ""
        var escaping = false
        for character in text {
            if escaping {
                result.append(character == "n" || character == "N" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// A parameter value: quoted when it holds `:`, `;` or `,` (double quotes, which it may not hold, are left out).
    static func parameterValue(_ value: String) -> String {
        let clean = String(value.unicodeScalars.filter { $0 != "\"" && $0.properties.generalCategory != .control })
        return clean.contains(where: { $0 == ":" || $0 == ";" || $0 == "," }) ? "\"" + clean + "\"" : clean
    }

    /// A UTC DATE-TIME, e.g. `20260303T050000Z` (seconds truncated).
    public static func dateTime(_ instant: Instant) -> String {
        // `2026-03-03T05:00:00Z` without its separators.
        String(instant.iso8601(offsetSeconds: 0).filter { $0 != "-" && $0 != ":" })
    }

    // MARK: Lines

    /// A content line as it is written: folded so that no physical line exceeds 75 octets
    /// (a continuation line starts with one space, which counts), never inside a UTF-8
    /// sequence, each physical line ended by CRLF.
    public static func fold(_ content: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(content.utf8.count + 8)
        var lineLength = 0
        for scalar in content.unicodeScalars {
            let width = UTF8.width(scalar)
            if lineLength + width > lineLimit {
                output += [13, 10, 32]
                lineLength = 1
            }
            UTF8.encode(scalar) { output.append($0) }
            lineLength += width
        }
        output += [13, 10]
        return output
    }

    /// The logical content lines of iCalendar text: physical lines split at CRLF, and a line
    /// that starts with a space or a tab joined to the one before it (RFC 5545 §3.1), without
    /// that first character.
    public static func unfold(_ text: String) -> [String] {
        var lines: [[UInt8]] = []
        for physical in split(Array(text.utf8)) {
            if let first = physical.first, first == 32 || first == 9, !lines.isEmpty {
                lines[lines.count - 1] += physical.dropFirst()
            } else {
                lines.append(physical)
            }
        }
        return lines.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Physical lines split at CRLF (a final CRLF ends the last line; it does not start another).
    static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
                lines.append(current)
                current = []
                index += 2
            } else {
                current.append(bytes[index])
                index += 1
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
