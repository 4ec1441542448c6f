import Foundation
import Replication

/// The money side's work with outside services: the fiscal outbox's queue and the Kaspi QR
/// payments the box follows through the gateway. Both keep their bookkeeping in local tables
/// (`local_fiscal_outbox`, `local_qr_state`) and record the outcomes as replicated facts
/// (`fiscal_receipts`, `payment_events`).
extension Shop {
    // MARK: Fiscal outbox

    /// Queues a sale of this box for the fiscal register once it is paid in full.
    func enqueueFiscalIfPaid(_ saleID: SaleID, in transaction: WriteTransaction) throws {
        guard let row = try transaction.fetchOne("SELECT site, fiscal_required FROM sales WHERE id = ?", [.text(saleID.rawValue)]),
              row["fiscal_required"].bool, row["site"].string == siteHex else { return }
        let sale = try Ledger.sale(saleID, in: transaction, prefix: Shop.orderPrefix(hex:))
        guard sale.state == .paid, sale.fiscal == .pending else { return }
        try enqueueFiscal(saleID.rawValue, kind: "sale", in: transaction)
    }

    func enqueueFiscalRefund(_ refundID: PaymentID, in transaction: WriteTransaction) throws {
        guard let row = try transaction.fetchOne("""
            SELECT s.site AS site, s.fiscal_required AS fiscal_required FROM payments p JOIN sales s ON s.id = p.sale_id WHERE p.id = ?
            """, [.text(refundID.rawValue)]), row["fiscal_required"].bool, row["site"].string == siteHex else { return }
        try enqueueFiscal(refundID.rawValue, kind: "refund", in: transaction)
    }

    private func enqueueFiscal(_ id: String, kind: String, in transaction: WriteTransaction) throws {
        let seq = (try transaction.fetchOne("SELECT max(seq) AS n FROM local_fiscal_outbox", [])?["n"].int64 ?? 0) + 1
        try transaction.execute("INSERT OR IGNORE INTO local_fiscal_outbox (document_id, kind, seq, next_at) VALUES (?, ?, ?, ?)",
                                [.text(id), .text(kind), .integer(seq), .instant(now)])
    }

    /// The queue in order: due documents up to the first one that is still waiting for a retry
    /// (it keeps its place: nothing overtakes it); permanently refused documents do not block.
    package func dueFiscalDocuments(now: Instant, limit: Int) throws -> [FiscalDocument] {
        try read { transaction in
            var documents: [FiscalDocument] = []
            for row in try transaction.fetchAll("SELECT document_id, kind, next_at, permanent FROM local_fiscal_outbox ORDER BY seq", []) {
                guard documents.count < limit else { break }
                if row["next_at"].int64 > now.milliseconds {
                    if row["permanent"].bool { continue }
                    break
                }
                documents.append(try fiscalDocument(row["document_id"].string, kind: row["kind"].string, in: transaction))
            }
            return documents
        }
    }

    func fiscalDocument(_ id: String, kind: String, in transaction: some QueryContext) throws -> FiscalDocument {
        if kind == "refund" {
            let refund = try Ledger.payment(PaymentID(trusted: id), in: transaction)
            let sale = try Ledger.sale(refund.saleID, in: transaction, prefix: Shop.orderPrefix(hex:))
            let rates = Set(sale.lines.map { $0.taxRate })
            let rate = rates.count == 1 ? rates.first! : nil
            let line = FiscalDocument.Line(name: "Refund \(sale.number)", quantity: 1, unitPriceMinor: refund.amount.amountMinor, discountMinor: 0,
                                           totalMinor: refund.amount.amountMinor, taxRateBasisPoints: rate?.rateBasisPoints,
                                           taxMinor: Pricing.tax(net: refund.amount.amountMinor, rate: rate.map { TaxRate(id: $0.id, name: $0.name, rateBasisPoints: $0.rateBasisPoints, included: true) }))
            return FiscalDocument(id: id, kind: .refund, currency: refund.amount.currency, lines: [line],
                                  payments: [FiscalDocument.Payment(method: Self.fiscalMethod(refund.method), amountMinor: refund.amount.amountMinor)],
                                  totalMinor: refund.amount.amountMinor, createdAt: refund.createdAt)
        }
        let sale = try Ledger.sale(SaleID(trusted: id), in: transaction, prefix: Shop.orderPrefix(hex:))
        let language = String((try? Loader.branch(sale.branchID, in: transaction).locale) ?? "en").prefix(2)
        var lines = sale.lines.map { line in
            FiscalDocument.Line(name: line.name(in: String(language)), quantity: line.quantity, unitPriceMinor: line.unitPriceMinor, discountMinor: line.discountMinor,
                                totalMinor: line.totalMinor, taxRateBasisPoints: line.taxRate?.rateBasisPoints, taxMinor: line.taxMinor)
        }
        if sale.tipsMinor > 0 {
            lines.append(FiscalDocument.Line(name: language == "en" ? "Tips" : language == "kk" ? "Шайпұл" : "Чаевые", quantity: 1,
                                             unitPriceMinor: sale.tipsMinor, discountMinor: 0, totalMinor: sale.tipsMinor, taxRateBasisPoints: nil, taxMinor: 0))
        }
        var byMethod: [FiscalDocument.Payment.Method: Int64] = [:]
        for payment in sale.payments where payment.kind == .payment && payment.status.counts {
            byMethod[Self.fiscalMethod(payment.method), default: 0] += payment.amount.amountMinor
        }
        let payments = [FiscalDocument.Payment.Method.cash, .card, .electronic].compactMap { method in
            byMethod[method].map { FiscalDocument.Payment(method: method, amountMinor: $0) }
        }
        return FiscalDocument(id: id, kind: .sale, currency: sale.currency, lines: lines, payments: payments, totalMinor: sale.totalMinor, createdAt: sale.createdAt)
    }

    static func fiscalMethod(_ method: PaymentMethod) -> FiscalDocument.Payment.Method {
        switch method {
        case .cash: .cash
        case .card: .card
        // Points and gift cards are not money received: strictly, selling a gift card is an advance and
        // paying with it settles the advance (docs/retail.md, "Fiscal"). The fiscal port has no
        // advance/prepayment method yet, so they go as electronic for now.
        case .kaspiQR, .kaspiStatic, .bankTransfer, .points, .giftCard: .electronic
        }
    }

    package func recordFiscalReceipt(_ receipt: FiscalReceipt, for documentID: String) throws {
        try write(.fiscalRecord) { transaction in
            guard let row = try transaction.fetchOne("SELECT kind FROM local_fiscal_outbox WHERE document_id = ?", [.text(documentID)]) else { return }
            if try transaction.fetchOne("SELECT 1 AS one FROM fiscal_receipts WHERE document_id = ?", [.text(documentID)]) == nil {
                try transaction.insert("fiscal_receipts", ["id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "document_id": .text(documentID),
                                                           "kind": row["kind"], "register": .text(receipt.register), "check_number": .text(receipt.checkNumber),
                                                           "url": .text(receipt.url), "shift": .text(receipt.shift), "at": .instant(now)])
            }
            try transaction.execute("DELETE FROM local_fiscal_outbox WHERE document_id = ?", [.text(documentID)])
        }
    }

    package func recordFiscalFailure(_ error: FiscalRegisterError, for documentID: String, retryAt: Instant) throws {
        try store.write { transaction in
            try transaction.execute("""
                UPDATE local_fiscal_outbox SET attempts = attempts + 1, last_error = ?, permanent = ?, next_at = ? WHERE document_id = ?
                """, [.text(String(error.message.prefix(500))), .bool(error.kind == .permanent), .instant(retryAt), .text(documentID)])
        }
    }

    // MARK: Kaspi QR

    /// One thing the box must ask the QR gateway.
    package struct QRTask: Sendable, Hashable {
        package enum Kind: Sendable, Hashable {
            /// Ask for the payment's QR (again: the gateway answers the first one).
            case create(amount: Money)
            /// Ask where the payment stands.
            case poll(providerPaymentID: String)
            /// Refund `amount` of the payment `providerPaymentID` (this task's id is the refund's).
            case refund(providerPaymentID: String, amount: Money)
        }
        package var paymentID: PaymentID
        package var kind: Kind
        package var dueAt: Instant
    }

    package func qrTasks() throws -> [QRTask] {
        try read { transaction in
            var tasks: [QRTask] = []
            for row in try transaction.fetchAll("""
                SELECT s.payment_id AS id, s.kind AS kind, s.reverses AS reverses, s.amount_minor AS amount, p.currency AS currency,
                       coalesce(q.next_at, 0) AS next_at
                FROM local_payment_state s JOIN payments p ON p.id = s.payment_id LEFT JOIN local_qr_state q ON q.payment_id = s.payment_id
                WHERE s.status = 'pending' AND s.method = 'kaspi_qr' AND s.site = ? ORDER BY s.created_at, s.payment_id
                """, [.text(siteHex)]) {
                let id = PaymentID(trusted: row["id"].string)
                let due = Instant(milliseconds: row["next_at"].int64)
                let amount = Money(amountMinor: row["amount"].int64, currency: row["currency"].string)
                if row["kind"].string == "refund" {
                    guard let invoice = try invoice(of: row["reverses"].string, in: transaction) else { continue }
                    tasks.append(QRTask(paymentID: id, kind: .refund(providerPaymentID: invoice.providerPaymentID, amount: amount), dueAt: due))
                } else if let invoice = try invoice(of: id.rawValue, in: transaction) {
                    tasks.append(QRTask(paymentID: id, kind: .poll(providerPaymentID: invoice.providerPaymentID), dueAt: due))
                } else {
                    tasks.append(QRTask(paymentID: id, kind: .create(amount: amount), dueAt: due))
                }
            }
            return tasks
        }
    }

    func invoice(of paymentID: String, in context: some QueryContext) throws -> QRInvoice? {
        guard let row = try context.fetchOne("SELECT detail FROM payment_events WHERE payment_id = ? AND status = 'qr_created' ORDER BY at, id LIMIT 1", [.text(paymentID)]) else { return nil }
        return JSONColumn.decodeIfPresent(QRInvoice.self, row["detail"])
    }

    private func setQRState(_ id: PaymentID, error: String, nextAt: Instant, in transaction: WriteTransaction) throws {
        try transaction.execute("INSERT OR REPLACE INTO local_qr_state (payment_id, error, next_at) VALUES (?, ?, ?)",
                                [.text(id.rawValue), .text(error), .instant(nextAt)])
    }

    package func recordQRInvoice(_ invoice: QRInvoice, for id: PaymentID) throws {
        try write(.paymentProviderUpdate) { transaction in
            guard try Ledger.payment(id, in: transaction).status == .pending, try self.invoice(of: id.rawValue, in: transaction) == nil else { return }
            try addPaymentEvent(id, status: "qr_created", detail: JSONColumn.encode(invoice), actor: "kaspi", in: transaction)
            try setQRState(id, error: "", nextAt: now.adding(milliseconds: Int64(max(1, invoice.pollIntervalSeconds)) * 1000), in: transaction)
        }
    }

    /// Records where a QR payment stands: a final state becomes a ledger event; otherwise the next poll.
    package func recordQRStatus(_ status: QRPaymentStatus, for id: PaymentID) throws {
        try write(.paymentProviderUpdate) { transaction in
            let payment = try Ledger.payment(id, in: transaction)
            guard payment.status == .pending else { return }
            switch status {
            case .processed:
                try addPaymentEvent(id, status: "settled", detail: "", actor: "kaspi", in: transaction)
                try transaction.execute("DELETE FROM local_qr_state WHERE payment_id = ?", [.text(id.rawValue)])
                if payment.kind == .refund { try enqueueFiscalRefund(id, in: transaction) } else { try enqueueFiscalIfPaid(payment.saleID, in: transaction) }
            case .failed(let reason):
                try addPaymentEvent(id, status: "failed", detail: String(reason.prefix(500)), actor: "kaspi", in: transaction)
                try transaction.execute("DELETE FROM local_qr_state WHERE payment_id = ?", [.text(id.rawValue)])
            case .created, .waiting:
                let interval = Int64(max(1, payment.qr?.pollIntervalSeconds ?? 5)) * 1000
                try setQRState(id, error: "", nextAt: now.adding(milliseconds: interval), in: transaction)
            }
        }
    }

    /// Records that the gateway gave no answer; the task is due again at `retryAt`.
    package func recordQRError(_ message: String, for id: PaymentID, retryAt: Instant) throws {
        try store.write { transaction in try setQRState(id, error: String(message.prefix(500)), nextAt: retryAt, in: transaction) }
        changeFeed.signal()
    }
}

/// Follows this box's pending Kaspi QR payments and refunds through a `QRPaymentGateway`: asks
/// for QRs, polls their status at the interval the provider gave, does refunds (after checking the
/// refundable amount), and records every definite answer in the ledger. A gateway that does not
/// answer leaves the payment pending and is asked again: a payment ends in one definite state.
public struct QRPaymentProcessor: Sendable {
    let payments: Payments
    let gateway: any QRPaymentGateway
    /// How long to wait before asking again after no answer.
    public var retryDelayMilliseconds: Int64 = 3000

    public init(payments: Payments, gateway: any QRPaymentGateway) {
        self.payments = payments
        self.gateway = gateway
    }

    /// Does every task that is due; returns when the next one is due (nil: none pending).
    public func runDue() async throws -> Instant? {
        let shop = payments.shop
        let tasks = try await shop.perform { try $0.qrTasks() }
        var next: Instant?
        for task in tasks {
            let now = shop.now
            guard task.dueAt <= now else {
                next = min(next ?? task.dueAt, task.dueAt)
                continue
            }
            try await run(task)
            next = min(next ?? now, now.adding(milliseconds: 1000))
        }
        if let pending = try await shop.perform({ try $0.qrTasks() }).map(\.dueAt).min() { next = pending }
        return next
    }

    func run(_ task: Shop.QRTask) async throws {
        let shop = payments.shop
        let id = task.paymentID
        do {
            switch task.kind {
            case .create(let amount):
                let invoice = try await gateway.createQR(paymentID: id.rawValue, amount: amount)
                try await shop.perform { try $0.recordQRInvoice(invoice, for: id) }
            case .poll(let provider):
                let status = try await gateway.status(providerPaymentID: provider)
                try await shop.perform { try $0.recordQRStatus(status, for: id) }
            case .refund(let provider, let amount):
                let refundable = try await gateway.refundable(providerPaymentID: provider)
                guard refundable.available.amountMinor >= amount.amountMinor else {
                    try await shop.perform {
                        try $0.recordQRStatus(.failed(reason: "Kaspi allows refunding \(refundable.available.amountMinor) only"), for: id)
                    }
                    return
                }
                _ = try await gateway.refund(providerPaymentID: provider, amount: amount, refundID: id.rawValue)
                try await shop.perform { try $0.recordQRStatus(.processed, for: id) }
            }
        } catch let error as QRGatewayError {
            switch error.kind {
            case .unreachable:
                let retry = shop.now.adding(milliseconds: retryDelayMilliseconds)
                try await shop.perform { try $0.recordQRError(error.message, for: id, retryAt: retry) }
            case .notConfigured, .refused:
                if case .poll = task.kind, error.kind == .refused {
                    let retry = shop.now.adding(milliseconds: retryDelayMilliseconds)
                    try await shop.perform { try $0.recordQRError(error.description, for: id, retryAt: retry) }
                } else {
                    try await shop.perform { try $0.recordQRStatus(.failed(reason: error.description), for: id) }
                }
            }
        }
    }
}
