import Foundation
import Replication

/// The money tables' rows read back as values, and the derived state of payments.
///
/// `local_payment_state` holds each ledger row's current state, derived from `payments`,
/// `payment_events` and voids inside every transaction that changes them (local writes and merges
/// alike) and rebuildable from scratch, so that balances, drawer figures and Z reports are plain
/// SQL aggregates. `local_sale_appointments` maps appointments to the sales that charged them.
enum Ledger {
    static let terminalEvents: Set<String> = ["settled", "verified", "failed"]

    /// A payment's state from its initial state, its events (in `(at, id)` order) and whether a
    /// void reverses it. The first terminal event decides; a void overrides everything.
    static func status(initial: String, events: [(status: String, at: Int64, id: String)], voided: Bool) -> PaymentStatus {
        if voided { return .voided }
        let ordered = events.sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        if let first = ordered.first(where: { terminalEvents.contains($0.status) }), let status = PaymentStatus(rawValue: first.status) { return status }
        return PaymentStatus(rawValue: initial) ?? .pending
    }

    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {
        var affected = Set<String>()
        for key in changes["payments"] {
            let id = key.string
            affected.insert(id)
            if let row = try transaction.fetchOne("SELECT reverses FROM payments WHERE id = ?", [.text(id)]), !row["reverses"].string.isEmpty {
                affected.insert(row["reverses"].string)
            }
        }
        for key in changes["payment_events"] {
            if let row = try transaction.fetchOne("SELECT payment_id FROM payment_events WHERE id = ?", [key]) { affected.insert(row["payment_id"].string) }
        }
        for id in affected.sorted() { try refreshPayment(id, in: transaction) }
        for key in changes["sales"] { try indexSale(key.string, in: transaction) }
    }

    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_payment_state", [])
        try transaction.execute("DELETE FROM local_sale_appointments", [])
        try transaction.execute("DELETE FROM local_sale_tips", [])
        for row in try transaction.fetchAll("SELECT id FROM payments", []) { try refreshPayment(row["id"].string, in: transaction) }
        for row in try transaction.fetchAll("SELECT id FROM sales", []) { try indexSale(row["id"].string, in: transaction) }
    }

    static func refreshPayment(_ id: String, in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_payment_state WHERE payment_id = ?", [.text(id)])
        guard let row = try transaction.fetchOne("""
            SELECT sale_id, kind, reverses, method, amount_minor, initial_status, site, drawer_session_id, created_at FROM payments WHERE id = ?
            """, [.text(id)]) else { return }
        let events = try transaction.fetchAll("SELECT id, status, at FROM payment_events WHERE payment_id = ?", [.text(id)]).map {
            (status: $0["status"].string, at: $0["at"].int64, id: $0["id"].string)
        }
        let voided = try transaction.fetchOne("SELECT 1 AS one FROM payments WHERE reverses = ? AND kind = 'void' LIMIT 1", [.text(id)]) != nil
        let kind = row["kind"].string
        let status = kind == "void" ? PaymentStatus.settled : self.status(initial: row["initial_status"].string, events: events, voided: voided)
        try transaction.execute("""
            INSERT INTO local_payment_state (payment_id, sale_id, kind, reverses, method, amount_minor, status, counts, site, drawer_session_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(id), row["sale_id"], .text(kind), row["reverses"], row["method"], row["amount_minor"], .text(status.rawValue),
                  .bool(status.counts), row["site"], row["drawer_session_id"], row["created_at"]])
    }

    static func indexSale(_ id: String, in transaction: some QueryContext & LocalWriter) throws {
        try transaction.execute("DELETE FROM local_sale_appointments WHERE sale_id = ?", [.text(id)])
        try transaction.execute("DELETE FROM local_sale_tips WHERE sale_id = ?", [.text(id)])
        guard let row = try transaction.fetchOne("SELECT appointments, tips, drawer_session_id FROM sales WHERE id = ?", [.text(id)]) else { return }
        for appointment in JSONColumn.decode([String].self, row["appointments"], default: []) {
            try transaction.execute("INSERT OR IGNORE INTO local_sale_appointments (appointment_id, sale_id) VALUES (?, ?)", [.text(appointment), .text(id)])
        }
        for tip in JSONColumn.decode([Tip].self, row["tips"], default: []) {
            try transaction.execute("INSERT INTO local_sale_tips (sale_id, drawer_session_id, staff_id, amount_minor) VALUES (?, ?, ?, ?)",
                                    [.text(id), row["drawer_session_id"], .text(tip.staffID.rawValue), .integer(tip.amountMinor)])
        }
    }

    // MARK: Reading values

    static let saleColumns = """
        id, branch_id, site, number, client_id, appointments, lines, discount, tips, currency, subtotal_minor, discount_minor, tax_minor,
        tips_minor, total_minor, drawer_session_id, fiscal_required, receipt_token, created_at, created_by
        """

    static func sale(_ id: SaleID, in context: some QueryContext, prefix: (String) -> String) throws -> Sale {
        guard let row = try context.fetchOne("SELECT \(saleColumns) FROM sales WHERE id = ?", [.text(id.rawValue)]) else {
            throw DomainError(.notFound, "no sale \(id)")
        }
        return try sale(row, in: context, prefix: prefix)
    }

    static func sale(_ row: Row, in context: some QueryContext, prefix: (String) -> String) throws -> Sale {
        let id = SaleID(trusted: row["id"].string)
        let currency = row["currency"].string
        let payments = try context.fetchAll("SELECT \(paymentColumns) FROM payments WHERE sale_id = ? ORDER BY created_at, id", [.text(id.rawValue)])
            .map { try payment($0, in: context) }
        let paid = payments.filter { $0.kind == .payment && $0.status.counts }.reduce(0) { $0 + $1.amount.amountMinor }
        let refunded = payments.filter { $0.kind == .refund && $0.status.counts }.reduce(0) { $0 + $1.amount.amountMinor }
        let total = row["total_minor"].int64
        let net = paid - refunded
        let voidRow = try context.fetchOne("SELECT at, actor, reason FROM sale_voids WHERE sale_id = ? ORDER BY at, id LIMIT 1", [.text(id.rawValue)])
        let state: Sale.State = voidRow != nil ? .voided : net > total ? .overpaid : net == total ? .paid : .due
        let fiscalRequired = row["fiscal_required"].bool
        var fiscal = Sale.FiscalState.notRequired
        var receipt: FiscalReceipt?
        var fiscalError = ""
        if fiscalRequired {
            if let found = try context.fetchOne("SELECT register, check_number, url, shift FROM fiscal_receipts WHERE document_id = ? ORDER BY at, id LIMIT 1", [.text(id.rawValue)]) {
                fiscal = .done
                receipt = FiscalReceipt(checkNumber: found["check_number"].string, url: found["url"].string, shift: found["shift"].string, register: found["register"].string)
            } else if let queued = try context.fetchOne("SELECT last_error, permanent FROM local_fiscal_outbox WHERE document_id = ?", [.text(id.rawValue)]) {
                fiscal = queued["permanent"].bool ? .failed : .pending
                fiscalError = queued["last_error"].string
            } else {
                fiscal = .pending
            }
        }
        let site = row["site"].string
        return Sale(id: id, number: receiptNumber(prefix: prefix(site), row["number"].int64), branchID: BranchID(trusted: row["branch_id"].string),
                    clientID: ClientID(row["client_id"].string), appointmentIDs: JSONColumn.decode([String].self, row["appointments"], default: []).compactMap(AppointmentID.init),
                    currency: currency, lines: JSONColumn.decode([SaleLine].self, row["lines"], default: []),
                    discount: row["discount"].string == "{}" || row["discount"].string.isEmpty ? nil : JSONColumn.decodeIfPresent(SaleDiscount.self, row["discount"]),
                    tips: JSONColumn.decode([Tip].self, row["tips"], default: []), subtotalMinor: row["subtotal_minor"].int64,
                    discountMinor: row["discount_minor"].int64, taxMinor: row["tax_minor"].int64, tipsMinor: row["tips_minor"].int64,
                    totalMinor: total, paidMinor: net, refundedMinor: refunded, balanceMinor: total - net, state: state, payments: payments,
                    voidRecord: voidRow.map { Sale.VoidRecord(at: Instant(milliseconds: $0["at"].int64), by: $0["actor"].string, reason: $0["reason"].string) },
                    fiscal: fiscal, fiscalReceipt: receipt, fiscalError: fiscalError, receiptToken: row["receipt_token"].string, site: site,
                    drawerSessionID: DrawerSessionID(row["drawer_session_id"].string), createdAt: Instant(milliseconds: row["created_at"].int64),
                    createdBy: row["created_by"].string)
    }

    static func receiptNumber(prefix: String, _ number: Int64) -> String {
        let digits = String(number)
        return prefix + "-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    static let paymentColumns = """
        id, sale_id, kind, reverses, method, amount_minor, currency, tendered_minor, change_minor, card_last4, approval_code, reference,
        initial_status, deadline_at, reason, site, drawer_session_id, created_at, created_by, approved_by
        """

    static func payment(_ id: PaymentID, in context: some QueryContext) throws -> Payment {
        guard let row = try context.fetchOne("SELECT \(paymentColumns) FROM payments WHERE id = ?", [.text(id.rawValue)]) else {
            throw DomainError(.notFound, "no payment \(id)")
        }
        return try payment(row, in: context)
    }

    static func payment(_ row: Row, in context: some QueryContext) throws -> Payment {
        let id = row["id"].string
        let state = try context.fetchOne("SELECT status FROM local_payment_state WHERE payment_id = ?", [.text(id)])
        let status = PaymentStatus(rawValue: state?["status"].string ?? "") ?? PaymentStatus(rawValue: row["initial_status"].string) ?? .pending
        let kind = Payment.Kind(rawValue: row["kind"].string) ?? .payment
        let method = PaymentMethod(rawValue: row["method"].string) ?? .cash
        var qr: QRInvoice?
        var qrError: String?
        if method == .kaspiQR, kind == .payment {
            if let event = try context.fetchOne("SELECT detail FROM payment_events WHERE payment_id = ? AND status = 'qr_created' ORDER BY at, id LIMIT 1", [.text(id)]) {
                qr = JSONColumn.decodeIfPresent(QRInvoice.self, event["detail"])
            }
            if status == .pending, let local = try context.fetchOne("SELECT error FROM local_qr_state WHERE payment_id = ?", [.text(id)]), !local["error"].string.isEmpty {
                qrError = local["error"].string
            }
        }
        var cancelRequested = false
        var failureReason = ""
        if status == .pending {
            cancelRequested = try context.fetchOne("SELECT 1 AS one FROM payment_events WHERE payment_id = ? AND status = 'cancel_requested' LIMIT 1", [.text(id)]) != nil
        } else if status == .failed {
            failureReason = try context.fetchOne("SELECT detail FROM payment_events WHERE payment_id = ? AND status = 'failed' ORDER BY at, id LIMIT 1", [.text(id)])?["detail"].string ?? ""
        }
        let amount = row["amount_minor"].int64
        var refundable: Int64 = 0
        if kind == .payment, status.counts {
            let reversed = try context.fetchOne("""
                SELECT coalesce(sum(amount_minor), 0) AS reversed FROM local_payment_state WHERE reverses = ? AND kind = 'refund' AND (counts = 1 OR status = 'pending')
                """, [.text(id)])?["reversed"].int64 ?? 0
            refundable = max(0, amount - reversed)
        }
        let deadline = row["deadline_at"].int64
        return Payment(id: PaymentID(trusted: id), saleID: SaleID(trusted: row["sale_id"].string), kind: kind, reverses: PaymentID(row["reverses"].string),
                       method: method, amount: Money(amountMinor: amount, currency: row["currency"].string),
                       tenderedMinor: row["tendered_minor"].int64, changeMinor: row["change_minor"].int64, cardLast4: row["card_last4"].string,
                       approvalCode: row["approval_code"].string, reference: row["reference"].string, status: status,
                       deadline: deadline > 0 ? Instant(milliseconds: deadline) : nil, qr: qr, qrError: qrError, cancelRequested: cancelRequested,
                       failureReason: failureReason, refundableMinor: refundable,
                       reason: row["reason"].string, site: row["site"].string, drawerSessionID: DrawerSessionID(row["drawer_session_id"].string),
                       createdAt: Instant(milliseconds: row["created_at"].int64), createdBy: row["created_by"].string, approvedBy: row["approved_by"].string)
    }

    static func session(_ row: Row) -> DrawerSession {
        DrawerSession(id: DrawerSessionID(trusted: row["id"].string), site: row["site"].string, till: row["till"].string,
                      branchID: BranchID(trusted: row["branch_id"].string), currency: row["currency"].string, floatMinor: row["float_minor"].int64,
                      openedAt: Instant(milliseconds: row["opened_at"].int64), openedBy: row["opened_by"].string)
    }

    // MARK: Figures

    /// The figures of a drawer session from the ledger (an X report; a Z adds the count).
    static func figures(of session: DrawerSession, until end: Instant, in context: some QueryContext, zone: ZoneRules?) throws -> DrawerReport {
        let sid = SQLValue.text(session.id.rawValue)
        var methods: [PaymentMethod: DrawerReport.MethodTotal] = [:]
        var cashSales: Int64 = 0
        var cashRefunds: Int64 = 0
        var refunds: Int64 = 0
        var voids = 0
        for row in try context.fetchAll("""
            SELECT method, kind, count(*) AS n, coalesce(sum(amount_minor), 0) AS total FROM local_payment_state INDEXED BY local_payment_state_by_session
            WHERE drawer_session_id = ? AND counts = 1 GROUP BY method, kind
            """, [sid]) {
            guard let method = PaymentMethod(rawValue: row["method"].string) else { continue }
            let total = row["total"].int64
            var entry = methods[method] ?? DrawerReport.MethodTotal(method: method, paymentsMinor: 0, refundsMinor: 0, count: 0)
            switch row["kind"].string {
            case "payment":
                entry.paymentsMinor += total
                entry.count += row["n"].int
                if method == .cash { cashSales += total }
            case "refund":
                entry.refundsMinor += total
                refunds += total
                if method == .cash { cashRefunds += total }
            default:
                voids += row["n"].int
                continue
            }
            methods[method] = entry
        }
        let movements = try context.fetchOne("""
            SELECT coalesce(sum(CASE WHEN kind = 'paid_in' THEN amount_minor ELSE 0 END), 0) AS paid_in,
                   coalesce(sum(CASE WHEN kind = 'paid_out' THEN amount_minor ELSE 0 END), 0) AS paid_out
            FROM drawer_movements WHERE session_id = ?
            """, [sid])
        let paidIn = movements?["paid_in"].int64 ?? 0
        let paidOut = movements?["paid_out"].int64 ?? 0
        let sales = try context.fetchOne("""
            SELECT count(*) AS n, coalesce(sum(discount_minor), 0) AS discounts, coalesce(sum(tax_minor), 0) AS tax,
                   coalesce(sum(visit_count), 0) AS visits
            FROM sales INDEXED BY sales_by_session WHERE drawer_session_id = ? AND id NOT IN (SELECT sale_id FROM sale_voids)
            """, [sid])
        let saleVoids = try context.fetchOne("""
            SELECT count(*) AS n FROM sale_voids v JOIN sales s ON s.id = v.sale_id WHERE s.drawer_session_id = ?
            """, [sid])?["n"].int ?? 0
        let tips = try context.fetchAll("""
            SELECT staff_id AS staff, sum(amount_minor) AS amount FROM local_sale_tips
            WHERE drawer_session_id = ? AND sale_id NOT IN (SELECT sale_id FROM sale_voids)
            GROUP BY staff_id ORDER BY staff_id
            """, [sid]).compactMap { row -> DrawerReport.TipTotal? in
            guard let staff = StaffID(row["staff"].string) else { return nil }
            let name = try context.fetchOne("SELECT name FROM staff WHERE id = ?", [.text(staff.rawValue)])?["name"].string ?? ""
            return DrawerReport.TipTotal(staffID: staff, name: name, amountMinor: row["amount"].int64)
        }
        let unverified = try context.fetchAll("""
            SELECT payment_id FROM local_payment_state INDEXED BY local_payment_state_unverified
            WHERE drawer_session_id = ? AND status = 'unverified' ORDER BY created_at, payment_id
            """, [sid]).map { PaymentID(trusted: $0["payment_id"].string) }
        let unfiscalised = try context.fetchAll("""
            SELECT id, site, number, total_minor FROM sales WHERE drawer_session_id = ? AND fiscal_required = 1
              AND id NOT IN (SELECT sale_id FROM sale_voids) AND id NOT IN (SELECT document_id FROM fiscal_receipts) ORDER BY number
            """, [sid]).map { row in
            DrawerReport.Unfiscalised(saleID: SaleID(trusted: row["id"].string), number: receiptNumber(prefix: Shop.orderPrefix(hex: row["site"].string), row["number"].int64),
                                      totalMinor: row["total_minor"].int64)
        }
        let overMidnight = zone.map { $0.localDate(of: session.openedAt) != $0.localDate(of: end) } ?? false
        return DrawerReport(id: nil, number: nil, session: session, closedAt: nil, closedBy: "", floatMinor: session.floatMinor,
                            cashSalesMinor: cashSales, cashRefundsMinor: cashRefunds, paidInMinor: paidIn, paidOutMinor: paidOut,
                            expectedCashMinor: session.floatMinor + cashSales - cashRefunds + paidIn - paidOut, counted: nil, varianceMinor: nil,
                            methods: PaymentMethod.allCases.compactMap { methods[$0] }, refundsMinor: refunds,
                            discountsMinor: sales?["discounts"].int64 ?? 0, taxMinor: sales?["tax"].int64 ?? 0, tips: tips,
                            salesCount: sales?["n"].int ?? 0, visitsCount: sales?["visits"].int ?? 0, voidsCount: voids + saleVoids,
                            unverified: unverified, unfiscalised: unfiscalised, overMidnight: overMidnight, note: "")
    }

    // MARK: Anomalies

    /// What a merge made that no box would have accepted alone. A pure function of the merged
    /// ledger: every replica holding the same rows finds the same anomalies with the same ids.
    static func anomalies(in context: some QueryContext) throws -> [MoneyAnomaly] {
        var found: [MoneyAnomaly] = []
        func id(_ parts: String...) -> AnomalyID { AnomalyID(trusted: derivedKey(["money-anomaly"] + parts)) }
        // Refunds and voids beyond a payment.
        for row in try context.fetchAll("""
            SELECT p.payment_id AS payment, p.sale_id AS sale, p.amount_minor AS amount, p.status AS status,
                   sum(CASE WHEN r.kind = 'void' THEN p.amount_minor ELSE r.amount_minor END) AS reversed,
                   group_concat(r.payment_id) AS reversals, (SELECT currency FROM payments WHERE id = p.payment_id) AS currency
            FROM local_payment_state p JOIN local_payment_state r ON r.reverses = p.payment_id
            WHERE p.kind = 'payment' AND (r.kind = 'void' OR (r.kind = 'refund' AND r.counts = 1))
            GROUP BY p.payment_id
            HAVING reversed > p.amount_minor
            """, []) {
            let members = ([row["payment"].string] + row["reversals"].string.split(separator: ",").map(String.init).sorted())
            found.append(MoneyAnomaly(id: id("double_refund", members.joined(separator: ",")), kind: .doubleRefund,
                                      saleIDs: [SaleID(trusted: row["sale"].string)], appointmentID: nil, paymentIDs: members.map { PaymentID(trusted: $0) },
                                      amount: Money(amountMinor: row["reversed"].int64 - row["amount"].int64, currency: row["currency"].string),
                                      resolution: nil))
        }
        // An appointment charged by two sales that are not voided.
        for row in try context.fetchAll("""
            SELECT a.appointment_id AS appointment, group_concat(a.sale_id) AS sales
            FROM local_sale_appointments a WHERE a.sale_id NOT IN (SELECT sale_id FROM sale_voids)
            GROUP BY a.appointment_id HAVING count(*) > 1
            """, []) {
            let sales = row["sales"].string.split(separator: ",").map(String.init).sorted()
            let amounts = try sales.map { sale -> (Int64, String) in
                let found = try context.fetchOne("SELECT total_minor, currency FROM sales WHERE id = ?", [.text(sale)])
                return (found?["total_minor"].int64 ?? 0, found?["currency"].string ?? "")
            }
            let payments = try context.fetchAll("SELECT payment_id FROM local_payment_state WHERE sale_id IN (\(sales.map { _ in "?" }.joined(separator: ","))) AND kind = 'payment' AND counts = 1 ORDER BY payment_id",
                                                sales.map { .text($0) }).map { PaymentID(trusted: $0["payment_id"].string) }
            found.append(MoneyAnomaly(id: id("double_checkout", row["appointment"].string, sales.joined(separator: ",")), kind: .doubleCheckout,
                                      saleIDs: sales.map { SaleID(trusted: $0) }, appointmentID: AppointmentID(row["appointment"].string), paymentIDs: payments,
                                      amount: Money(amountMinor: amounts.dropFirst().reduce(0) { $0 + $1.0 }, currency: amounts.first?.1 ?? ""), resolution: nil))
        }
        // A sale paid beyond its total.
        for row in try context.fetchAll("""
            SELECT s.id AS sale, s.total_minor AS total, s.currency AS currency,
                   sum(CASE WHEN p.kind = 'payment' THEN p.amount_minor WHEN p.kind = 'refund' THEN -p.amount_minor ELSE 0 END) AS paid,
                   group_concat(CASE WHEN p.kind = 'payment' THEN p.payment_id END) AS payments
            FROM sales s JOIN local_payment_state p ON p.sale_id = s.id AND p.counts = 1
            GROUP BY s.id HAVING paid > s.total_minor
            """, []) {
            let members = row["payments"].string.split(separator: ",").map(String.init).sorted()
            found.append(MoneyAnomaly(id: id("overpaid", row["sale"].string, members.joined(separator: ",")), kind: .overpaid,
                                      saleIDs: [SaleID(trusted: row["sale"].string)], appointmentID: nil, paymentIDs: members.map { PaymentID(trusted: $0) },
                                      amount: Money(amountMinor: row["paid"].int64 - row["total"].int64, currency: row["currency"].string), resolution: nil))
        }
        // One unverified payment marked both verified and failed.
        for row in try context.fetchAll("""
            SELECT e.payment_id AS payment, p.sale_id AS sale, p.amount_minor AS amount, p.currency AS currency
            FROM payment_events e JOIN payments p ON p.id = e.payment_id
            WHERE e.status IN ('verified', 'failed') GROUP BY e.payment_id HAVING count(DISTINCT e.status) > 1
            """, []) {
            found.append(MoneyAnomaly(id: id("contradictory_verification", row["payment"].string), kind: .contradictoryVerification,
                                      saleIDs: [SaleID(trusted: row["sale"].string)], appointmentID: nil, paymentIDs: [PaymentID(trusted: row["payment"].string)],
                                      amount: Money(amountMinor: row["amount"].int64, currency: row["currency"].string), resolution: nil))
        }
        for index in found.indices {
            if let resolution = try context.fetchOne("SELECT at, actor, note FROM money_resolutions WHERE anomaly_id = ? ORDER BY at, id LIMIT 1", [.text(found[index].id.rawValue)]) {
                found[index].resolution = MoneyAnomaly.Resolution(at: Instant(milliseconds: resolution["at"].int64), by: resolution["actor"].string, note: resolution["note"].string)
            }
        }
        return found.sorted { ($0.kind.rawValue, $0.id) < ($1.kind.rawValue, $1.id) }
    }
}
