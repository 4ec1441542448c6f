import Foundation
@testable import MessagingProviders
import Testing

/// Building the email itself (no network): encoded words, quoted-printable, the HTML part, the
/// headers, dot-stuffing, and reading SMTP replies.
@Suite struct MIMETests {
    func message(subject: String = "Hello", fromName: String = "Shop", text: String = "Hi", unsubscribe: String = "") -> MIMEMessage {
        MIMEMessage(fromAddress: "shop@example.kz", fromName: fromName, toAddress: "a@mail.kz", subject: subject, text: text, language: "ru",
                    messageID: "<m1@edgenode.local>", date: Date(timeIntervalSince1970: 1_796_000_000), unsubscribe: unsubscribe, boundary: "=_b")
    }

    /// The header lines of a rendered message, unfolded.
    func headers(_ rendered: String) -> [String] {
        let head = rendered.components(separatedBy: "\r\n\r\n")[0]
        return head.replacingOccurrences(of: "\r\n ", with: " ").components(separatedBy: "\r\n")
    }

    /// Decodes `=?UTF-8?B?…?=` words (adjacent words joined, as RFC 2047 §6.2 says).
    func decodeWords(_ value: String) -> String {
        var bytes: [UInt8] = []
        var plain: [String] = []
        for word in value.split(separator: " ") {
            if word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?=") {
                bytes += Data(base64Encoded: String(word.dropFirst(10).dropLast(2))).map(Array.init) ?? []
            } else {
                plain.append(String(word))
            }
        }
        return plain.isEmpty ? String(decoding: bytes, as: UTF8.self) : plain.joined(separator: " ")
    }

    func decodeQuotedPrintable(_ text: String) -> String {
        var bytes: [UInt8] = []
        let joined = text.replacingOccurrences(of: "=\r\n", with: "")
        var index = joined.utf8.startIndex
        let utf8 = joined.utf8
        while index < utf8.endIndex {
            if utf8[index] == UInt8(ascii: "=") {
                let hex = String(decoding: utf8[utf8.index(after: index)..<utf8.index(index, offsetBy: 3)], as: UTF8.self)
                bytes.append(UInt8(hex, radix: 16)!)
                index = utf8.index(index, offsetBy: 3)
            } else {
                bytes.append(utf8[index])
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func aLongCyrillicSubjectIsEncodedAndFoldedWithinTheLineLimit() {
        let subject = String(repeating: "Напоминание о записи — Қош келдіңіз! ", count: 4).trimmingCharacters(in: .whitespaces)
        let rendered = message(subject: subject).rendered()
        let head = rendered.components(separatedBy: "\r\n\r\n")[0]
        #expect(head.components(separatedBy: "\r\n").allSatisfy { $0.count <= 78 })
        #expect(head.unicodeScalars.allSatisfy { $0.isASCII })
        let line = try! #require(headers(rendered).first { $0.hasPrefix("Subject: ") })
        #expect(line.split(separator: " ").dropFirst().allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") })
        #expect(decodeWords(String(line.dropFirst(9))) == subject)
    }

    @Test func anASCIISubjectStaysReadable() {
        #expect(headers(message(subject: "Your visit tomorrow").rendered()).contains("Subject: Your visit tomorrow"))
    }

    @Test func theSenderNameIsQuotedOrEncoded() {
        #expect(headers(message(fromName: "Shop \"Best\"").rendered()).contains("From: \"Shop \\\"Best\\\"\" <shop@example.kz>"))
        let from = try! #require(headers(message(fromName: "Салон Гүлдер").rendered()).first { $0.hasPrefix("From: ") })
        #expect(from.hasSuffix(" <shop@example.kz>"))
        #expect(decodeWords(String(from.dropFirst(6).dropLast(" <shop@example.kz>".count))) == "Салон Гүлдер")
    }

    @Test func noHeaderCanBeInjected() {
        let rendered = message(subject: "Hi\r\nBcc: victim@mail.kz", fromName: "X\nBcc: v@mail.kz", unsubscribe: "https://a.kz/u\r\nBcc: w@mail.kz").rendered()
        #expect(!headers(rendered).contains { $0.hasPrefix("Bcc:") })
    }

    @Test func theFixedHeaders() {
        let lines = headers(message(unsubscribe: "mailto:u@shop.example").rendered())
        #expect(lines.contains("Date: Mon, 30 Nov 2026 00:53:20 +0000"))
        #expect(lines.contains("Message-ID: <m1@edgenode.local>"))
        #expect(lines.contains("MIME-Version: 1.0"))
        #expect(lines.contains("Auto-Submitted: auto-generated"))
        #expect(lines.contains("List-Unsubscribe: <mailto:u@shop.example>"))
        #expect(!lines.contains { $0.hasPrefix("List-Unsubscribe-Post") })
        #expect(lines.contains("Content-Type: multipart/alternative; boundary=\"=_b\""))
        #expect(headers(message(unsubscribe: "https://shop.example/u/1").rendered()).contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        #expect(!headers(message().rendered()).contains { $0.hasPrefix("List-Unsubscribe") })
        #expect(!headers(message(unsubscribe: "javascript:alert(1)").rendered()).contains { $0.hasPrefix("List-Unsubscribe") })
        #expect(headers(message(unsubscribe: "http://shop.example/u/1").rendered()).contains("List-Unsubscribe: <http://shop.example/u/1>"))
        #expect(!headers(message(unsubscribe: "http://shop.example/u/1").rendered()).contains { $0.hasPrefix("List-Unsubscribe-Post") })
    }

    @Test func quotedPrintableKeepsLinesWithin76AndDecodesBack() {
        let text = String(repeating: "Қош келдіңіз, Әсем! = ", count: 12) + "  \ntrailing space \n\n.end"
        let encoded = MIMEMessage.quotedPrintable(text)
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 })
        #expect(encoded.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(!encoded.components(separatedBy: "\r\n").contains { $0.hasSuffix(" ") })
        #expect(decodeQuotedPrintable(encoded) == text.replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test func theHTMLPartEscapesBreaksAndLinksOnlyWebURLs() {
        let html = MIMEMessage.html(from: "a <b> & \"c\"\nsecond line\n\n\nnew https://x.kz/p?q=1&r=2, http://y.kz.\njavascript:alert(1) ftp://z.kz mailto:a@b.kz xhttps://no.kz", language: "kk")
        #expect(html.contains("<html lang=\"kk\">"))
        #expect(html.contains("<p>a &lt;b&gt; &amp; &quot;c&quot;<br>\nsecond line</p>\n<p>new "))
        #expect(html.contains("<a href=\"https://x.kz/p?q=1&amp;r=2\">https://x.kz/p?q=1&amp;r=2</a>, <a href=\"http://y.kz\">http://y.kz</a>.<br>"))
        #expect(html.components(separatedBy: "<a ").count == 3)
        #expect(html.components(separatedBy: "<p>").count == 3)
    }

    @Test func dotStuffingDoublesALeadingDotAndEndsLinesInCRLF() {
        #expect(SMTPMailer.dotStuffed(".a\r\nb\r\n..c\r\n.\r\n") == "..a\r\nb\r\n...c\r\n..\r\n")
        #expect(SMTPMailer.dotStuffed("x\ny") == "x\r\ny\r\n")
    }

    @Test func multiLineRepliesAreReadWhole() throws {
        var reader = SMTPReplyReader()
        reader.append(Array("250-fake.local Hello\r\n250-AUTH LOGIN PLAIN\r\n250-STAR".utf8))
        #expect(try reader.nextReply() == nil)
        reader.append(Array("TTLS\r\n250 HELP\r\n220 next".utf8))
        let reply = try #require(try reader.nextReply())
        #expect(reply.code == 250)
        #expect(reply.lines == ["fake.local Hello", "AUTH LOGIN PLAIN", "STARTTLS", "HELP"])
        let extensions = SMTPExtensions(ehlo: reply)
        #expect(extensions.offersStartTLS)
        #expect(extensions.authMechanisms == ["LOGIN", "PLAIN"])
        #expect(try reader.nextReply() == nil)
        #expect(reader.hasBufferedBytes)
        reader.append(Array("\r\n".utf8))
        #expect(try reader.nextReply() == SMTPReply(code: 220, lines: ["next"]))

        var garbage = SMTPReplyReader()
        garbage.append(Array("HTTP/1.1 400 Bad Request\r\n".utf8))
        #expect(throws: SMTPProtocolError.self) { try garbage.nextReply() }
    }

    @Test func repliesMapToTheOutboxErrors() {
        #expect(SMTPFailure.error(for: SMTPReply(code: 421, lines: ["4.7.0 closing"]), at: .mailFrom) == .retryable(reason: "smtp mail from: 421 4.7.0 closing", retryAfterSeconds: nil))
        #expect(SMTPFailure.error(for: SMTPReply(code: 535, lines: ["5.7.8 bad credentials"]), at: .auth) == .rejected(reason: "smtp auth: 535 5.7.8 bad credentials", unlink: false))
        #expect(SMTPFailure.error(for: SMTPReply(code: 550, lines: ["no such user"]), at: .rcptTo) == .rejected(reason: "smtp rcpt to: 550 no such user", unlink: true))
        #expect(SMTPFailure.error(for: SMTPReply(code: 550, lines: ["5.1.1 no such user"]), at: .mailFrom) == .rejected(reason: "smtp mail from: 550 5.1.1 no such user", unlink: false))
    }
}
