// An email as the SMTP transport sends it (RFC 5322, MIME RFC 2045/2046/2047): headers with
// non-ASCII text as RFC 2047 encoded words, a `multipart/alternative` body with the plain text
// and an HTML part made from it, both quoted-printable (every line at most 76 characters, only
// ASCII on the wire, so no server needs 8BITMIME). Pure: no I/O, tested on its own.
import Foundation

/// One email, ready to be rendered for SMTP's `DATA`.
public struct MIMEMessage: Sendable, Hashable {
    public var fromAddress: String
    /// The sender's display name; empty for the bare address.
    public var fromName: String
    public var toAddress: String
    public var subject: String
    /// The plain text; the HTML part is made from it (`MIMEMessage.html(from:language:)`).
    public var text: String
    /// `ru`, `kk` or `en`: the HTML part's `lang`.
    public var language: String
    /// The `Message-ID` with its angle brackets, e.g. `<m1@edgenode.local>`.
    public var messageID: String
    public var date: Date
    /// The `List-Unsubscribe` target (`mailto:`, `https:` or `http:`); empty (or any other
    /// scheme) for none.
    public var unsubscribe: String
    /// The multipart boundary (random by default; fixed in tests).
    public var boundary: String

    public init(fromAddress: String, fromName: String, toAddress: String, subject: String, text: String, language: String,
                messageID: String, date: Date, unsubscribe: String = "", boundary: String? = nil) {
        self.fromAddress = fromAddress
        self.fromName = fromName
        self.toAddress = toAddress
        self.subject = subject
        self.text = text
        self.language = language
        self.messageID = messageID
        self.date = date
        self.unsubscribe = unsubscribe
        // "=_" never occurs in quoted-printable or base64 text, so the boundary cannot collide.
        self.boundary = boundary ?? "=_edgenode_" + (0..<16).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
    }

    /// The whole message, lines ending in CRLF, ASCII only (not yet dot-stuffed: that is SMTP's).
    public func rendered() -> String {
        var headers: [String] = []
        headers.append(Self.fold(name: "From", words: Self.mailbox(name: fromName, address: fromAddress)))
        headers.append("To: <\(Self.headerSafe(toAddress))>")
        headers.append(Self.fold(name: "Subject", words: Self.unstructured(subject)))
        headers.append("Date: " + Self.rfc5322Date(date))
        headers.append("Message-ID: " + Self.headerSafe(messageID))
        headers.append("MIME-Version: 1.0")
        headers.append("Auto-Submitted: auto-generated")
        let unsubscribe = Self.headerSafe(unsubscribe).trimmingCharacters(in: .whitespaces)
        let scheme = unsubscribe.lowercased()
        if scheme.hasPrefix("mailto:") || scheme.hasPrefix("https://") || scheme.hasPrefix("http://") {
            headers.append("List-Unsubscribe: <\(unsubscribe)>")
            // One-click unsubscribe (RFC 8058) is a POST to an https URL; a mailto: cannot take it.
            if scheme.hasPrefix("https://") {
                headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
            }
        }
        headers.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        var lines = headers
        lines.append("")
        lines.append("--" + boundary)
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Content-Transfer-Encoding: quoted-printable")
        lines.append("")
        lines.append(Self.quotedPrintable(text))
        lines.append("--" + boundary)
        lines.append("Content-Type: text/html; charset=utf-8")
        lines.append("Content-Transfer-Encoding: quoted-printable")
        lines.append("")
        lines.append(Self.quotedPrintable(Self.html(from: text, language: language)))
        lines.append("--" + boundary + "--")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    // MARK: Headers

    /// The value without CR, LF or other control characters (no header can be injected).
    static func headerSafe(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
    }

    /// `"Name" <address>` as words for folding: the name quoted when ASCII, else RFC 2047 words.
    static func mailbox(name: String, address: String) -> [String] {
        let name = headerSafe(name).trimmingCharacters(in: .whitespaces)
        let address = "<" + headerSafe(address) + ">"
        if name.isEmpty { return [address] }
        if name.unicodeScalars.allSatisfy({ $0.isASCII }) {
            let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return ["\"\(quoted)\"", address]
        }
        return encodedWords(name) + [address]
    }

    /// An unstructured header value (`Subject`) as words: ASCII text split at spaces, anything
    /// else as RFC 2047 `B` encoded words of UTF-8.
    static func unstructured(_ value: String) -> [String] {
        let value = headerSafe(value)
        let isPlain = value.unicodeScalars.allSatisfy { $0.isASCII } && !value.contains("=?")
        if isPlain {
            let words = value.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            // Words longer than a line cannot be folded as ASCII: encode them instead.
            if words.allSatisfy({ $0.count <= 70 }) { return words }
        }
        return encodedWords(value)
    }

    /// RFC 2047 `=?UTF-8?B?…?=` words, each at most 64 characters, never splitting a character.
    static func encodedWords(_ value: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
            chunk = []
        }
        for character in value {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 39 { flush() }  // 39 bytes: 52 base64 characters
            chunk += bytes
        }
        flush()
        return words.isEmpty ? [""] : words
    }

    /// `Name: word word …` folded (CRLF + space) so that no line exceeds 78 characters.
    static func fold(name: String, words: [String]) -> String {
        var lines: [String] = []
        var line = name + ":"
        for word in words where !word.isEmpty {
            if line.count + 1 + word.count > 78 && line != name + ":" {
                lines.append(line)
                line = ""
            }
            line += " " + word
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    /// `Mon, 07 Dec 2026 18:55:13 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    // MARK: Body

    /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: line breaks as CRLF, lines at most 76
    /// characters with soft breaks, trailing spaces and every non-ASCII byte encoded.
    public static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var tokens: [[UInt8]] = []
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !isLast)
                tokens.append(literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
            var current: [UInt8] = []
            for token in tokens {
                if current.count + token.count > 75 {
                    output.append(String(decoding: current + [UInt8(ascii: "=")], as: UTF8.self))
                    current = []
                }
                current += token
            }
            output.append(String(decoding: current, as: UTF8.self))
        }
        return output.joined(separator: "\r\n")
    }

    /// The HTML part made from the plain text: HTML-escaped, paragraphs at blank lines, line
    /// breaks as `<br>`, and only `http://`/`https://` URLs made into links.
    public static func html(from text: String, language: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var paragraphs: [[Substring]] = [[]]
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy(\.isWhitespace) {
                if !(paragraphs.last?.isEmpty ?? true) { paragraphs.append([]) }
            } else {
                paragraphs[paragraphs.count - 1].append(line)
            }
        }
        let body = paragraphs.filter { !$0.isEmpty }.map { lines in
            "<p>" + lines.map { linked(String($0)) }.joined(separator: "<br>\n") + "</p>"
        }
        let lang = language.allSatisfy { $0.isLetter || $0 == "-" } && !language.isEmpty ? " lang=\"\(language)\"" : ""
        return "<!DOCTYPE html>\n<html\(lang)><head><meta charset=\"utf-8\"></head><body>\n" + body.joined(separator: "\n") + "\n</body></html>"
    }

    /// One line, escaped, its http(s) URLs as links (trailing punctuation left outside).
    static func linked(_ line: String) -> String {
        var result = ""
        var rest = Substring(line)
        while let start = urlStart(in: rest) {
            result += escaped(rest[..<start])
            var end = rest[start...].firstIndex { $0.isWhitespace || "<>\"".contains($0) } ?? rest.endIndex
            while end > start, ".,;:!?)]'".contains(rest[rest.index(before: end)]) { end = rest.index(before: end) }
            let url = rest[start..<end]
            let isBareScheme = url.lowercased() == "http://" || url.lowercased() == "https://"
            result += isBareScheme ? escaped(url) : "<a href=\"\(escaped(url))\">\(escaped(url))</a>"
            rest = rest[end...]
        }
        return result + escaped(rest)
    }

    /// Where the next `http://` or `https://` (any case) starts, at a word's start.
    static func urlStart(in text: Substring) -> Substring.Index? {
        let lower = text.lowercased()
        var searchFrom = lower.startIndex
        while let found = lower[searchFrom...].range(of: "http") {
            let after = lower[found.upperBound...]
            if after.hasPrefix("://") || after.hasPrefix("s://") {
                let offset = lower.distance(from: lower.startIndex, to: found.lowerBound)
                // lowercased() keeps the character count for the scripts we handle; check anyway.
                if lower.count == text.count {
                    let index = text.index(text.startIndex, offsetBy: offset)
                    if index == text.startIndex || !(text[text.index(before: index)].isLetter || text[text.index(before: index)].isNumber) {
                        return index
                    }
                }
            }
            searchFrom = found.upperBound
        }
        return nil
    }

    static func escaped<S: StringProtocol>(_ text: S) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
