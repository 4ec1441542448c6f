import Domain
import Foundation

/// Webkassa's wire format, without any I/O: the bodies the adapter sends and what it reads from
/// the answers (docs/fiscal.md, "The Webkassa adapter").
enum WebkassaProtocol {
    /// `OperationType`: 2 = sale, 3 = sale return.
    static func operationType(_ kind: FiscalDocument.Kind) -> Int {
        switch kind {
        case .sale: 2
        case .refund: 3
        }
    }

    /// `PaymentType`: 0 = cash, 1 = bank card, 4 = mobile payment (Kaspi QR, transfers).
    static func paymentType(_ method: FiscalDocument.Payment.Method) -> Int {
        switch method {
        case .cash: 0
        case .card: 1
        case .electronic: 4
        }
    }

    /// `TaxType` of a position: 0 = without VAT, 100 = VAT.
    static func taxType(_ rateBasisPoints: Int?) -> Int { rateBasisPoints == nil ? 0 : 100 }

    /// The longest `ExternalCheckNumber` the adapter sends (our ids are 36-character UUIDs).
    static let maxExternalNumberLength = 50

    /// An amount in minor units (tiyn) as decimal tenge, exactly: 150050 → "1500.50", -5 → "-0.05".
    static func decimal(minor: Int64) -> String {
        let magnitude = minor.magnitude
        let whole = magnitude / 100
        let fraction = magnitude % 100
        return (minor < 0 ? "-" : "") + "\(whole)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    /// A rate in basis points as a percentage, exactly: 1200 → "12", 1250 → "12.5", 5 → "0.05".
    static func percent(basisPoints: Int) -> String {
        let magnitude = basisPoints.magnitude
        let whole = magnitude / 100
        let fraction = magnitude % 100
        let sign = basisPoints < 0 ? "-" : ""
        if fraction == 0 { return sign + "\(whole)" }
        if fraction % 10 == 0 { return sign + "\(whole).\(fraction / 10)" }
        return sign + "\(whole)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    /// The document checked against what Webkassa accepts; a `.permanent` error naming the problem
    /// when the document itself is at fault (it would be refused however often it is sent).
    static func validate(_ document: FiscalDocument) throws(FiscalRegisterError) {
        func refuse(_ message: String) -> FiscalRegisterError { FiscalRegisterError(.permanent, "document \(document.id): \(message)") }
        guard document.currency == "KZT" else { throw refuse("Webkassa registers tenge only, not \(document.currency)") }
        guard !document.id.isEmpty, document.id.count <= maxExternalNumberLength else {
            throw refuse("its id must be 1…\(maxExternalNumberLength) characters to be an external check number")
        }
        guard !document.lines.isEmpty else { throw refuse("it has no lines") }
        guard !document.payments.isEmpty else { throw refuse("it has no payments") }
        var linesTotal: Int64 = 0
        for (index, line) in document.lines.enumerated() {
            let number = index + 1
            guard !line.name.trimmingCharacters(in: .whitespaces).isEmpty else { throw refuse("line \(number) has no name") }
            guard line.quantity > 0 else { throw refuse("line \(number) has quantity \(line.quantity)") }
            guard line.unitPriceMinor >= 0, line.discountMinor >= 0, line.totalMinor >= 0, line.taxMinor >= 0 else {
                throw refuse("line \(number) has a negative amount")
            }
            let (gross, overflow) = Int64(line.quantity).multipliedReportingOverflow(by: line.unitPriceMinor)
            guard !overflow, gross - line.discountMinor == line.totalMinor else {
                throw refuse("line \(number): \(line.quantity) × \(line.unitPriceMinor) − \(line.discountMinor) is not its total \(line.totalMinor)")
            }
            if line.taxRateBasisPoints == nil, line.taxMinor != 0 { throw refuse("line \(number) has tax \(line.taxMinor) but no tax rate") }
            if let rate = line.taxRateBasisPoints, !(0...10_000).contains(rate) { throw refuse("line \(number) has tax rate \(rate) basis points") }
            linesTotal += line.totalMinor
        }
        var paid: Int64 = 0
        for payment in document.payments {
            guard payment.amountMinor > 0 else { throw refuse("a payment of \(payment.amountMinor)") }
            paid += payment.amountMinor
        }
        guard linesTotal == document.totalMinor, paid == document.totalMinor else {
            throw refuse("lines \(linesTotal), payments \(paid) and total \(document.totalMinor) disagree")
        }
    }

    /// The body of `POST …/Check` for a validated document.
    static func checkBody(_ document: FiscalDocument, token: String, cashbox: String, unitCode: Int) -> [UInt8] {
        let positions: [JSONText] = document.lines.map { line in
            .object([
                ("Count", .literal("\(line.quantity)")),
                ("Price", .literal(decimal(minor: line.unitPriceMinor))),
                ("TaxPercent", .literal(line.taxRateBasisPoints.map { percent(basisPoints: $0) } ?? "0")),
                ("Tax", .literal(decimal(minor: line.taxMinor))),
                ("TaxType", .literal("\(taxType(line.taxRateBasisPoints))")),
                ("PositionName", .string(line.name)),
                ("UnitCode", .literal("\(unitCode)")),
                ("Discount", .literal(decimal(minor: line.discountMinor))),
                ("Markup", .literal("0")),
            ])
        }
        let payments: [JSONText] = document.payments.map { payment in
            .object([
                ("Sum", .literal(decimal(minor: payment.amountMinor))),
                ("PaymentType", .literal("\(paymentType(payment.method))")),
            ])
        }
        let body = JSONText.object([
            ("Token", .string(token)),
            ("CashboxUniqueNumber", .string(cashbox)),
            ("OperationType", .literal("\(operationType(document.kind))")),
            ("Positions", .array(positions)),
            ("Payments", .array(payments)),
            ("Change", .literal("0")),
            ("RoundType", .literal("2")),
            ("ExternalCheckNumber", .string(document.id)),
        ])
        return Array(body.text.utf8)
    }

    static func authorizeBody(login: String, password: String) -> [UInt8] {
        Array(JSONText.object([("Login", .string(login)), ("Password", .string(password))]).text.utf8)
    }

    static func lookupBody(token: String, cashbox: String, externalNumber: String) -> [UInt8] {
        Array(JSONText.object([("Token", .string(token)), ("CashboxUniqueNumber", .string(cashbox)),
                               ("ExternalCheckNumber", .string(externalNumber))]).text.utf8)
    }

    /// One of Webkassa's `Errors`.
    struct APIError: Sendable, Hashable {
        var code: Int
        var text: String
    }

    /// A Webkassa answer: its `Data` object (if any) and its `Errors`.
    struct Reply: @unchecked Sendable {
        var data: [String: Any]?
        var errors: [APIError]

        /// nil when `body` is not a JSON object.
        init?(_ body: [UInt8]) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
            data = object["Data"] as? [String: Any]
            errors = ((object["Errors"] as? [Any]) ?? []).compactMap { item in
                guard let error = item as? [String: Any] else { return nil }
                let code = (error["Code"] as? Int) ?? Int(Self.text(error["Code"]) ?? "") ?? -1
                return APIError(code: code, text: Self.text(error["Text"]) ?? "")
            }
        }

        /// `Data.Token`.
        var token: String? { Self.text(data?["Token"]).flatMap { $0.isEmpty ? nil : $0 } }

        /// The receipt in `Data` (a `Check` answer or a ticket found by its external number), if
        /// it has a check number.
        func receipt(register: String) -> FiscalReceipt? {
            guard let data, let number = Self.text(data["CheckNumber"]), !number.isEmpty else { return nil }
            return FiscalReceipt(checkNumber: number, url: Self.text(data["TicketUrl"]) ?? "", shift: Self.text(data["ShiftNumber"]) ?? "",
                                 register: register)
        }

        /// A JSON string or number as text.
        static func text(_ value: Any?) -> String? {
            switch value {
            case let string as String: return string
            case let number as NSNumber: return number.stringValue
            default: return nil
            }
        }
    }

    /// Webkassa's error codes the adapter acts on.
    enum Code {
        static let sessionExpired = 2
        static let validation = 9
        static let duplicateExternalNumber = 14
        /// The register, the cashier's account or the shift cannot take any document now (or
        /// Webkassa failed): wrong login or password (1), not authorised (3), no access (4, 5),
        /// no such cashbox (6), cashbox blocked (7), not activated (10), shift over 24 hours (11),
        /// shift closed (12), no open shift (13), unknown error (-1), service unavailable (505).
        /// Retrying later keeps the documents in order until a person has fixed the register.
        static let registerUnavailable: Set<Int> = [-1, 1, 3, 4, 5, 6, 7, 10, 11, 12, 13, 505]
    }

    /// What an error answer to a `Check` means for the document.
    static func classify(_ error: APIError) -> FiscalRegisterError {
        if Code.registerUnavailable.contains(error.code) {
            return FiscalRegisterError(.retryable, "Webkassa cannot register checks now (error \(error.code): \(error.text))")
        }
        return FiscalRegisterError(.permanent, "Webkassa refused the check (error \(error.code): \(error.text))")
    }
}

/// JSON written by hand, so that amounts go on the wire exactly as decimal literals ("1500.50")
/// rather than through a binary floating-point number.
indirect enum JSONText {
    case string(String)
    /// A number, written as is.
    case literal(String)
    case array([JSONText])
    case object([(String, JSONText)])

    var text: String {
        switch self {
        case .string(let value): JSONText.quoted(value)
        case .literal(let value): value
        case .array(let items): "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let members): "{" + members.map { JSONText.quoted($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
