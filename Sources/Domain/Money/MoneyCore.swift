import Foundation
import Replication

/// The money side's blocking core (the `Payments` component calls it on the store's threads).
/// Every check and the write it guards happen in one transaction, so one box never pays a sale
/// beyond its total, refunds beyond what it knows was paid, or numbers two receipts alike.
extension Shop {
    var siteHex: String { store.site.hex }

    /// Who acts, as the ledger rows record it.
    package struct MoneyActor: Sendable {
        package init(name: String, deviceID: String, rights: MoneyRights) {
            self.name = name
            self.deviceID = deviceID
            self.rights = rights
        }
        package var name: String
        package var deviceID: String
        package var rights: MoneyRights
    }

    // MARK: Settings

    package func moneySettings(branch: BranchID) throws -> MoneySettings {
        try read { try Self.moneySettings(branch: branch, in: $0) }
    }

    static func moneySettings(branch: BranchID, in context: some QueryContext) throws -> MoneySettings {
        let found = try Loader.branch(branch, in: context)
        let caps = MoneySettings.defaultCaps(currency: found.currency)
        guard let row = try context.fetchOne("SELECT * FROM money_settings WHERE id = ?", [.text(derivedKey("money-settings", branch.rawValue))]) else {
            return MoneySettings(branchID: branch, currency: found.currency, taxRates: [], defaultTaxRate: "", vatRegistered: false, vatNumber: "",
                                 sellerName: found.name, sellerAddress: found.address, unverifiedPaymentCapMinor: caps.payment,
                                 unverifiedBoxCapMinor: caps.box, unverifiedDeadlineHours: 24)
        }
        let paymentCap = row["unverified_payment_cap_minor"].int64
        let boxCap = row["unverified_box_cap_minor"].int64
        return MoneySettings(branchID: branch, currency: found.currency, taxRates: JSONColumn.decode([TaxRate].self, row["tax_rates"], default: []),
                             defaultTaxRate: row["default_tax_rate"].string, vatRegistered: row["vat_registered"].bool, vatNumber: row["vat_number"].string,
                             sellerName: row["seller_name"].string.isEmpty ? found.name : row["seller_name"].string,
                             sellerAddress: row["seller_address"].string.isEmpty ? found.address : row["seller_address"].string,
                             unverifiedPaymentCapMinor: paymentCap < 0 ? caps.payment : paymentCap, unverifiedBoxCapMinor: boxCap < 0 ? caps.box : boxCap,
                             unverifiedDeadlineHours: min(72, max(1, row["unverified_deadline_hours"].int)))
    }

    package func saveMoneySettings(_ settings: MoneySettings) throws -> MoneySettings {
        var ids = Set<String>()
        for rate in settings.taxRates {
            guard !rate.id.isEmpty, rate.id.count <= 32, ids.insert(rate.id).inserted else { throw DomainError(.invalidArgument, "tax rate ids are 1–32 characters and unique") }
            guard (0...10_000).contains(rate.rateBasisPoints) else { throw DomainError(.invalidArgument, "a tax rate is 0 to 100 %") }
            guard !rate.name.trimmingCharacters(in: .whitespaces).isEmpty else { throw DomainError(.invalidArgument, "a tax rate needs a name") }
        }
        guard settings.defaultTaxRate.isEmpty || ids.contains(settings.defaultTaxRate) else {
            throw DomainError(.invalidArgument, "the default tax rate \(settings.defaultTaxRate) is not one of the rates")
        }
        guard (1...72).contains(settings.unverifiedDeadlineHours) else { throw DomainError(.invalidArgument, "the deadline of an unverified payment is 1 to 72 hours") }
        guard settings.unverifiedPaymentCapMinor >= 0, settings.unverifiedBoxCapMinor >= 0 else { throw DomainError(.invalidArgument, "caps cannot be negative") }
        guard !settings.vatRegistered || !settings.vatNumber.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DomainError(.invalidArgument, "a VAT-registered business needs its VAT number")
        }
        return try write(.moneySettingsSave) { transaction in
            _ = try Loader.branch(settings.branchID, in: transaction)
            try transaction.upsert("money_settings", id: derivedKey("money-settings", settings.branchID.rawValue), [
                "branch_id": .text(settings.branchID.rawValue), "tax_rates": .text(JSONColumn.encode(settings.taxRates)),
                "default_tax_rate": .text(settings.defaultTaxRate), "vat_registered": .bool(settings.vatRegistered), "vat_number": .text(settings.vatNumber),
                "seller_name": .text(settings.sellerName), "seller_address": .text(settings.sellerAddress),
                "unverified_payment_cap_minor": .integer(settings.unverifiedPaymentCapMinor), "unverified_box_cap_minor": .integer(settings.unverifiedBoxCapMinor),
                "unverified_deadline_hours": .int(settings.unverifiedDeadlineHours),
            ])
            return try Self.moneySettings(branch: settings.branchID, in: transaction)
        }
    }

    // MARK: Checkout

    package func checkout(_ request: CheckoutRequest, actor: MoneyActor, fiscalRequired: Bool) throws -> Sale {
        try write(.saleCreate) { transaction in
            let branch = try Loader.branch(request.branchID, in: transaction)
            let settings = try Self.moneySettings(branch: request.branchID, in: transaction)
            guard !request.appointmentIDs.isEmpty || !request.lines.isEmpty || !request.products.isEmpty || !request.giftCards.isEmpty else {
                throw DomainError(.invalidArgument, "a sale needs an appointment, a product, a gift card or a line")
            }
            guard Set(request.appointmentIDs).count == request.appointmentIDs.count else { throw DomainError(.invalidArgument, "an appointment is named twice") }
            var lines: [SaleLine] = []
            var client = request.clientID
            for id in request.appointmentIDs {
                let appointment = try Loader.appointment(id, in: transaction)
                guard appointment.branchID == request.branchID else { throw DomainError(.invalidArgument, "appointment \(appointment.orderNumber) is at another branch") }
                guard [.confirmed, .checkedIn, .completed].contains(appointment.status) else {
                    throw DomainError(.illegalTransition, "appointment \(appointment.orderNumber) is \(appointment.status.rawValue); only confirmed, checked-in or completed visits are checked out")
                }
                if let other = try transaction.fetchOne("""
                    SELECT s.site AS site, s.number AS number FROM local_sale_appointments a JOIN sales s ON s.id = a.sale_id
                    WHERE a.appointment_id = ? AND a.sale_id NOT IN (SELECT sale_id FROM sale_voids) LIMIT 1
                    """, [.text(id.rawValue)]) {
                    throw DomainError(.alreadyCheckedOut, "appointment \(appointment.orderNumber) is already in sale \(Ledger.receiptNumber(prefix: Shop.orderPrefix(hex: other["site"].string), other["number"].int64))")
                }
                if client == nil { client = appointment.clientID }
                for item in appointment.items {
                    let offering = try? Loader.offering(item.offeringID, in: transaction)
                    lines.append(SaleLine(kind: .service, reference: item.offeringID.rawValue, staffID: item.staffID, appointmentID: id,
                                          names: offering?.names ?? ["": "service"], quantity: 1, unitPriceMinor: item.priceMinor, discountMinor: 0,
                                          netMinor: 0, taxRate: settings.defaultRate, taxMinor: 0, totalMinor: 0))
                }
            }
            for line in request.lines {
                let name = line.name.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !name.isEmpty, name.count <= 200 else { throw DomainError(.invalidArgument, "a line needs a name of 1 to 200 characters") }
                guard (1...10_000).contains(line.quantity) else { throw DomainError(.invalidArgument, "a line's quantity is 1 to 10000") }
                guard (0...1_000_000_000_00).contains(line.unitPriceMinor) else { throw DomainError(.invalidArgument, "a line's unit price is 0 to 1000000000.00") }
                var rate: TaxRate? = settings.defaultRate
                if let id = line.taxRate {
                    if id.isEmpty { rate = nil } else {
                        guard let found = settings.taxRates.first(where: { $0.id == id }) else { throw DomainError(.invalidArgument, "no tax rate \(id)") }
                        rate = found
                    }
                }
                lines.append(SaleLine(kind: .custom, reference: "", staffID: nil, appointmentID: nil, names: ["": name], quantity: line.quantity,
                                      unitPriceMinor: line.unitPriceMinor, discountMinor: 0, netMinor: 0, taxRate: rate, taxMinor: 0, totalMinor: 0))
            }
            lines += try productLines(request, settings: settings, in: transaction)
            lines += try giftCardLines(request, currency: branch.currency, in: transaction)
            if client == nil { client = request.giftCards.lazy.compactMap(\.clientID).first }
            var discount: SaleDiscount?
            var couponUse: CouponApplication?
            if let code = request.coupon {
                guard request.discount == nil else { throw DomainError(.invalidArgument, "a coupon and a manual discount do not combine") }
                let applied = try applyCoupon(code: code, lines: lines, clientID: client, branch: request.branchID, currency: branch.currency, in: transaction)
                couponUse = applied
                discount = SaleDiscount(percent: nil, amountMinor: 0, reason: "coupon \(applied.code)", approvedBy: "", coupon: applied.code, couponID: applied.couponID)
            }
            if let requested = request.discount {
                guard actor.rights.mayDiscount else { throw DomainError(.approvalRequired, "money.discount: a manager must approve a discount") }
                let reason = requested.reason.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !reason.isEmpty else { throw DomainError(.invalidArgument, "a discount needs a reason") }
                discount = SaleDiscount(percent: requested.percent, amountMinor: 0, reason: reason, approvedBy: actor.rights.approvedBy)
            }
            let priced = try Pricing.price(lines, discount: request.discount, lineDiscounts: couponUse?.shares)
            discount?.amountMinor = priced.discountMinor
            var staffSeen = Set<StaffID>()
            for tip in request.tips {
                guard tip.amountMinor > 0 else { throw DomainError(.invalidArgument, "a tip is more than zero") }
                guard staffSeen.insert(tip.staffID).inserted else { throw DomainError(.invalidArgument, "one tip per staff member") }
                _ = try Loader.staff(tip.staffID, in: transaction)
            }
            if let client { _ = try Loader.client(client, in: transaction) }
            let subtotal = priced.lines.reduce(0) { $0 + Int64($1.quantity) * $1.unitPriceMinor }
            let tax = priced.lines.reduce(0) { $0 + $1.taxMinor }
            let tips = request.tips.reduce(0) { $0 + $1.amountMinor }
            let total = priced.lines.reduce(0) { $0 + $1.totalMinor } + tips
            let id = SaleID.generate(at: now)
            let number = (try transaction.fetchOne("SELECT max(number) AS n FROM sales WHERE site = ?", [.text(siteHex)])?["n"].int64 ?? 0) + 1
            let session = try openSession(till: "main", in: transaction)
            try transaction.insert("sales", [
                "id": .text(id.rawValue), "branch_id": .text(request.branchID.rawValue), "site": .text(siteHex), "number": .integer(number),
                "client_id": .text(client?.rawValue ?? ""), "appointments": .text(JSONColumn.encode(request.appointmentIDs.map(\.rawValue))),
                "lines": .text(JSONColumn.encode(priced.lines)), "discount": .text(discount.map { JSONColumn.encode($0) } ?? "{}"),
                "tips": .text(JSONColumn.encode(request.tips)), "currency": .text(branch.currency), "subtotal_minor": .integer(subtotal),
                "discount_minor": .integer(priced.discountMinor), "tax_minor": .integer(tax), "tips_minor": .integer(tips), "total_minor": .integer(total), "visit_count": .int(request.appointmentIDs.count),
                "drawer_session_id": .text(session?.id.rawValue ?? ""), "fiscal_required": .bool(fiscalRequired),
                "receipt_token": .text(Self.makeToken()), "created_at": .instant(now), "created_by": .text(actor.name), "device_id": .text(actor.deviceID),
            ])
            try recordSaleStock(sale: id, branch: request.branchID, lines: priced.lines, override: request.stockOverride, actor: actor, in: transaction)
            try issueGiftCards(sale: id, request.giftCards, lines: priced.lines, branch: request.branchID, actor: actor, in: transaction)
            if let couponUse { try recordCouponUse(couponUse, sale: id, clientID: client, actor: actor, in: transaction) }
            try transaction.refreshDerivedState()
            for payment in request.payments { _ = try takePayment(id, payment, actor: actor, in: transaction) }
            return try Ledger.sale(id, in: transaction, prefix: Shop.orderPrefix(hex:))
        }
    }

    // MARK: Payments

    package func takePayment(_ sale: SaleID, _ request: PaymentRequest, actor: MoneyActor) throws -> Payment {
        try write(.paymentTake) { transaction in try takePayment(sale, request, actor: actor, in: transaction) }
    }

    func takePayment(_ saleID: SaleID, _ request: PaymentRequest, actor: MoneyActor, in transaction: WriteTransaction) throws -> Payment {
        let sale = try Ledger.sale(saleID, in: transaction, prefix: Shop.orderPrefix(hex:))
        guard sale.state != .voided else { throw DomainError(.illegalTransition, "sale \(sale.number) is voided") }
        guard request.amountMinor > 0 else { throw DomainError(.invalidArgument, "a payment is more than zero") }
        let reserved = sale.payments.filter { $0.kind == .payment && $0.status == .pending }
            .filter { payment in (try? transaction.fetchOne("SELECT 1 AS one FROM payment_events WHERE payment_id = ? AND status = 'cancel_requested'", [.text(payment.id.rawValue)])) == nil }
            .reduce(0) { $0 + $1.amount.amountMinor }
        let due = sale.balanceMinor - reserved
        guard request.amountMinor <= due else {
            throw DomainError(.overpayment, "\(request.amountMinor) is more than the \(max(0, due)) still due on sale \(sale.number)")
        }
        var tendered: Int64 = 0
        var change: Int64 = 0
        switch request.method {
        case .cash:
            tendered = request.tenderedMinor ?? request.amountMinor
            guard tendered >= request.amountMinor else { throw DomainError(.invalidArgument, "the cash tendered is less than the amount") }
            change = tendered - request.amountMinor
        case .card:
            guard request.cardLast4.isEmpty || (request.cardLast4.count == 4 && request.cardLast4.allSatisfy(\.isNumber)) else {
                throw DomainError(.invalidArgument, "the card's last four digits are four digits")
            }
            guard request.approvalCode.count <= 32 else { throw DomainError(.invalidArgument, "an approval code has at most 32 characters") }
        case .kaspiQR, .kaspiStatic, .bankTransfer, .points, .giftCard:
            guard request.tenderedMinor == nil else { throw DomainError(.invalidArgument, "only cash is tendered") }
        }
        let session = try openSession(till: "main", in: transaction)
        if request.method == .cash, session == nil { throw DomainError(.drawerClosed, "open the drawer before taking cash") }
        var initial = PaymentStatus.settled
        var deadline: Int64 = 0
        if request.method == .kaspiQR { initial = .pending }
        if request.method == .kaspiStatic {
            initial = .unverified
            let settings = try Self.moneySettings(branch: sale.branchID, in: transaction)
            let outstanding = try unverifiedOutstanding(in: transaction)
            if !actor.rights.mayExceedCaps {
                guard request.amountMinor <= settings.unverifiedPaymentCapMinor else {
                    throw DomainError(.aboveCap, "\(request.amountMinor) is above the cap of \(settings.unverifiedPaymentCapMinor) for one unverified payment: a manager must approve")
                }
                guard outstanding + request.amountMinor <= settings.unverifiedBoxCapMinor else {
                    throw DomainError(.aboveCap, "this box would hold \(outstanding + request.amountMinor) unverified, above its cap of \(settings.unverifiedBoxCapMinor): a manager must approve")
                }
            }
            deadline = now.adding(minutes: 60 * settings.unverifiedDeadlineHours).milliseconds
        }
        let id = PaymentID.generate(at: now)
        var reference = String(request.reference.prefix(200))
        if request.method == .points || request.method == .giftCard {
            // Spends this box's escrow of the points or the card (docs/retail.md); the reference names the account.
            reference = try escrowPayment(sale: sale, request, paymentID: id, actor: actor, in: transaction).description
        }
        try transaction.insert("payments", [
            "id": .text(id.rawValue), "sale_id": .text(saleID.rawValue), "kind": .text("payment"), "method": .text(request.method.rawValue),
            "amount_minor": .integer(request.amountMinor), "currency": .text(sale.currency), "tendered_minor": .integer(tendered),
            "change_minor": .integer(change), "card_last4": .text(request.cardLast4), "approval_code": .text(request.approvalCode),
            "reference": .text(reference), "initial_status": .text(initial.rawValue), "deadline_at": .integer(deadline),
            "site": .text(siteHex), "drawer_session_id": .text(session?.id.rawValue ?? ""), "created_at": .instant(now),
            "created_by": .text(actor.name), "approved_by": .text(actor.rights.approvedBy), "device_id": .text(actor.deviceID),
        ])
        try transaction.refreshDerivedState()
        try earnPointsIfPaid(saleID, actor: actor, in: transaction)
        try enqueueFiscalIfPaid(saleID, in: transaction)
        return try Ledger.payment(id, in: transaction)
    }

    func unverifiedOutstanding(in context: some QueryContext) throws -> Int64 {
        try context.fetchOne("SELECT coalesce(sum(amount_minor), 0) AS total FROM local_payment_state WHERE status = 'unverified' AND site = ? AND kind = 'payment'",
                             [.text(siteHex)])?["total"].int64 ?? 0
    }

    /// Refunds part or all of a counting payment. Cash comes out of this box's open drawer; a card
    /// refund is done on the terminal and recorded; a Kaspi refund is pending until the gateway
    /// does it. Card and Kaspi refunds need the internet (`online`).
    package func refund(_ paymentID: PaymentID, amountMinor: Int64, reason: String, refundID: PaymentID, online: Bool, actor: MoneyActor) throws -> Payment {
        try write(.paymentRefund) { transaction in
            guard actor.rights.mayRefund else { throw DomainError(.approvalRequired, "money.refund: a manager must approve a refund") }
            let original = try Ledger.payment(paymentID, in: transaction)
            guard original.kind == .payment else { throw DomainError(.invalidArgument, "only a payment can be refunded") }
            guard original.status == .settled || original.status == .verified else {
                throw DomainError(.illegalTransition, "a \(original.status.rawValue) payment cannot be refunded")
            }
            let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw DomainError(.invalidArgument, "a refund needs a reason") }
            guard amountMinor > 0 else { throw DomainError(.invalidArgument, "a refund is more than zero") }
            guard amountMinor <= original.refundableMinor else {
                throw DomainError(.refundExceedsPaid, "\(amountMinor) is more than the \(original.refundableMinor) this box knows is left to refund of that payment")
            }
            if original.method == .card || original.method == .kaspiQR || original.method == .kaspiStatic, !online {
                throw DomainError(.offlineNotAllowed, "a refund to a card or Kaspi needs the internet; refund in cash or wait until the box is online")
            }
            let session = try openSession(till: "main", in: transaction)
            if original.method == .cash, session == nil { throw DomainError(.drawerClosed, "open the drawer before refunding cash") }
            try transaction.insert("payments", [
                "id": .text(refundID.rawValue), "sale_id": .text(original.saleID.rawValue), "kind": .text("refund"), "reverses": .text(paymentID.rawValue),
                "method": .text(original.method.rawValue), "amount_minor": .integer(amountMinor), "currency": .text(original.amount.currency),
                "initial_status": .text(original.method == .kaspiQR ? "pending" : "settled"), "reason": .text(text), "site": .text(siteHex),
                "drawer_session_id": .text(session?.id.rawValue ?? ""), "created_at": .instant(now), "created_by": .text(actor.name),
                "approved_by": .text(actor.rights.approvedBy), "device_id": .text(actor.deviceID),
            ])
            if original.method == .points || original.method == .giftCard {
                try restoreEscrow(refund: refundID, of: original, amountMinor: amountMinor, actor: actor, in: transaction)
            }
            try transaction.refreshDerivedState()
            if original.method != .kaspiQR { try enqueueFiscalRefund(refundID, in: transaction) }
            return try Ledger.payment(refundID, in: transaction)
        }
    }

    /// Voids a cash, card or transfer payment taken in this box's open drawer session (a mistake
    /// corrected before the day closes).
    package func voidPayment(_ paymentID: PaymentID, reason: String, actor: MoneyActor) throws -> Payment {
        try write(.paymentVoid) { transaction in
            guard actor.rights.mayRefund else { throw DomainError(.approvalRequired, "money.refund: a manager must approve a void") }
            let original = try Ledger.payment(paymentID, in: transaction)
            guard original.kind == .payment, original.status == .settled, [.cash, .card, .bankTransfer, .points, .giftCard].contains(original.method) else {
                throw DomainError(.illegalTransition, "only a settled cash, card, transfer, points or gift-card payment can be voided; refund it instead")
            }
            let session = try openSession(till: "main", in: transaction)
            guard original.site == siteHex, let session, original.drawerSessionID == session.id else {
                throw DomainError(.illegalTransition, "only a payment of this box's open drawer session can be voided; refund it instead")
            }
            guard original.refundableMinor == original.amount.amountMinor else { throw DomainError(.illegalTransition, "a payment with refunds cannot be voided") }
            let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw DomainError(.invalidArgument, "a void needs a reason") }
            let voidID = PaymentID.generate(at: now)
            try transaction.insert("payments", [
                "id": .text(voidID.rawValue), "sale_id": .text(original.saleID.rawValue), "kind": .text("void"),
                "reverses": .text(paymentID.rawValue), "method": .text(original.method.rawValue), "amount_minor": .integer(original.amount.amountMinor),
                "currency": .text(original.amount.currency), "initial_status": .text("settled"), "reason": .text(text), "site": .text(siteHex),
                "drawer_session_id": .text(session.id.rawValue), "created_at": .instant(now), "created_by": .text(actor.name),
                "approved_by": .text(actor.rights.approvedBy), "device_id": .text(actor.deviceID),
            ])
            if original.method == .points || original.method == .giftCard {
                try restoreEscrow(refund: voidID, of: original, amountMinor: original.amount.amountMinor, actor: actor, in: transaction)
            }
            try transaction.refreshDerivedState()
            return try Ledger.payment(paymentID, in: transaction)
        }
    }

    /// Voids a sale on which nothing counts as paid.
    package func voidSale(_ saleID: SaleID, reason: String, actor: MoneyActor) throws -> Sale {
        try write(.saleVoid) { transaction in
            guard actor.rights.mayRefund else { throw DomainError(.approvalRequired, "money.refund: a manager must approve a void") }
            let sale = try Ledger.sale(saleID, in: transaction, prefix: Shop.orderPrefix(hex:))
            guard sale.state != .voided else { throw DomainError(.illegalTransition, "sale \(sale.number) is already voided") }
            guard sale.paidMinor == 0, !sale.payments.contains(where: { $0.status == .pending }) else {
                throw DomainError(.illegalTransition, "sale \(sale.number) has payments; void or refund them first")
            }
            let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw DomainError(.invalidArgument, "a void needs a reason") }
            let who = actor.rights.approvedBy.isEmpty ? actor.name : "\(actor.name), approved by \(actor.rights.approvedBy)"
            try transaction.insert("sale_voids", ["id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "sale_id": .text(saleID.rawValue),
                                                  "reason": .text(text), "actor": .text(who), "at": .instant(now), "site": .text(siteHex)])
            try transaction.execute("DELETE FROM local_fiscal_outbox WHERE document_id = ?", [.text(saleID.rawValue)])
            try restockVoidedSale(saleID, actor: actor, in: transaction)
            try restoreForVoidedSale(saleID, actor: actor, in: transaction)
            return try Ledger.sale(saleID, in: transaction, prefix: Shop.orderPrefix(hex:))
        }
    }

    /// Records a person giving up a pending Kaspi QR. The payment stays pending until Kaspi says
    /// how it ended (it expires unpaid, or the client paid after all): never assumed.
    package func cancelQR(_ paymentID: PaymentID, actor: MoneyActor) throws -> Payment {
        try write(.paymentCancel) { transaction in
            let payment = try Ledger.payment(paymentID, in: transaction)
            guard payment.kind == .payment, payment.method == .kaspiQR, payment.status == .pending else {
                throw DomainError(.illegalTransition, "only a pending Kaspi QR can be cancelled")
            }
            try addPaymentEvent(paymentID, status: "cancel_requested", detail: "", actor: actor.name, in: transaction)
            return try Ledger.payment(paymentID, in: transaction)
        }
    }

    /// A manager marks an unverified payment verified or failed.
    package func verify(_ paymentID: PaymentID, verified: Bool, note: String, actor: MoneyActor) throws -> Payment {
        try write(.paymentVerify) { transaction in
            let payment = try Ledger.payment(paymentID, in: transaction)
            guard payment.status == .unverified else { throw DomainError(.illegalTransition, "the payment is \(payment.status.rawValue), not unverified") }
            try addPaymentEvent(paymentID, status: verified ? "verified" : "failed", detail: String(note.prefix(500)), actor: actor.name, in: transaction)
            return try Ledger.payment(paymentID, in: transaction)
        }
    }

    func addPaymentEvent(_ paymentID: PaymentID, status: String, detail: String, actor: String, in transaction: WriteTransaction) throws {
        try transaction.insert("payment_events", ["id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "payment_id": .text(paymentID.rawValue),
                                                  "status": .text(status), "at": .instant(now), "actor": .text(actor), "detail": .text(detail)])
        try transaction.refreshDerivedState()
    }

    // MARK: Reading

    package func sale(_ id: SaleID) throws -> Sale { try read { try Ledger.sale(id, in: $0, prefix: Shop.orderPrefix(hex:)) } }

    package func sale(receiptToken: String) throws -> Sale {
        try read { transaction in
            guard !receiptToken.isEmpty, let row = try transaction.fetchOne("SELECT id FROM sales WHERE receipt_token = ?", [.text(receiptToken)]) else {
                throw DomainError(.invalidToken, "no receipt has this link")
            }
            return try Ledger.sale(SaleID(trusted: row["id"].string), in: transaction, prefix: Shop.orderPrefix(hex:))
        }
    }

    package func sales(where filter: String, _ arguments: [SQLValue], limit: Int = 200) throws -> [Sale] {
        try readSnapshot { transaction in
            try transaction.fetchAll("SELECT \(Ledger.saleColumns) FROM sales WHERE \(filter) ORDER BY created_at DESC, id DESC LIMIT \(limit)", arguments)
                .map { try Ledger.sale($0, in: transaction, prefix: Shop.orderPrefix(hex:)) }
        }
    }

    package func payment(_ id: PaymentID) throws -> Payment { try read { try Ledger.payment(id, in: $0) } }

    package func unverifiedPayments(branch: BranchID?) throws -> [(payment: Payment, saleNumber: String)] {
        try read { transaction in
            try transaction.fetchAll("""
                SELECT s.payment_id AS id, sa.site AS site, sa.number AS number FROM local_payment_state s JOIN sales sa ON sa.id = s.sale_id
                WHERE s.status = 'unverified' AND (? = '' OR sa.branch_id = ?) ORDER BY s.created_at, s.payment_id
                """, [.text(branch?.rawValue ?? ""), .text(branch?.rawValue ?? "")]).map { row in
                (try Ledger.payment(PaymentID(trusted: row["id"].string), in: transaction),
                 Ledger.receiptNumber(prefix: Shop.orderPrefix(hex: row["site"].string), row["number"].int64))
            }
        }
    }

    package func moneyAnomalies() throws -> [MoneyAnomaly] { try readSnapshot { try Ledger.anomalies(in: $0) } }

    package func resolveAnomaly(_ id: AnomalyID, note: String, actor: MoneyActor) throws -> MoneyAnomaly {
        try write(.moneyAnomalyResolve) { transaction in
            guard var anomaly = try Ledger.anomalies(in: transaction).first(where: { $0.id == id }) else { throw DomainError(.notFound, "no anomaly \(id)") }
            guard anomaly.resolution == nil else { throw DomainError(.illegalTransition, "the anomaly is already resolved") }
            let text = note.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, text.count <= 2000 else { throw DomainError(.invalidArgument, "a resolution needs a note of 1 to 2000 characters") }
            try transaction.insert("money_resolutions", ["id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "anomaly_id": .text(id.rawValue),
                                                         "note": .text(text), "actor": .text(actor.name), "at": .instant(now)])
            anomaly.resolution = MoneyAnomaly.Resolution(at: now, by: actor.name, note: text)
            return anomaly
        }
    }

    // MARK: Drawer

    func openSession(till: String, in context: some QueryContext) throws -> DrawerSession? {
        try context.fetchOne("""
            SELECT id, site, till, branch_id, currency, float_minor, opened_at, opened_by FROM drawer_sessions s
            WHERE site = ? AND till = ? AND NOT EXISTS (SELECT 1 FROM z_reports z WHERE z.session_id = s.id) ORDER BY opened_at DESC, id DESC LIMIT 1
            """, [.text(siteHex), .text(till)]).map(Ledger.session)
    }

    package func drawerSession(till: String = "main") throws -> DrawerSession? { try read { try openSession(till: till, in: $0) } }

    package func openDrawer(branch: BranchID, floatMinor: Int64, till: String = "main", actor: MoneyActor) throws -> DrawerSession {
        guard floatMinor >= 0 else { throw DomainError(.invalidArgument, "the float cannot be negative") }
        return try write(.drawerOpen) { transaction in
            if let open = try openSession(till: till, in: transaction) {
                throw DomainError(.illegalTransition, "the drawer is already open since \(open.openedAt) (by \(open.openedBy)); close it first")
            }
            let branchRecord = try Loader.branch(branch, in: transaction)
            let id = DrawerSessionID.generate(at: now)
            try transaction.insert("drawer_sessions", ["id": .text(id.rawValue), "site": .text(siteHex), "till": .text(till), "branch_id": .text(branch.rawValue),
                                                       "currency": .text(branchRecord.currency), "float_minor": .integer(floatMinor), "opened_at": .instant(now),
                                                       "opened_by": .text(actor.name)])
            return DrawerSession(id: id, site: siteHex, till: till, branchID: branch, currency: branchRecord.currency, floatMinor: floatMinor, openedAt: now, openedBy: actor.name)
        }
    }

    package func drawerMovement(paidIn: Bool, amountMinor: Int64, reason: String, till: String = "main", actor: MoneyActor) throws -> DrawerReport {
        let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard amountMinor > 0 else { throw DomainError(.invalidArgument, "an amount paid in or out is more than zero") }
        guard !text.isEmpty, text.count <= 500 else { throw DomainError(.invalidArgument, "paid in and paid out need a reason (up to 500 characters)") }
        return try write(.drawerMovement) { transaction in
            guard let session = try openSession(till: till, in: transaction) else { throw DomainError(.drawerClosed, "open the drawer first") }
            if !paidIn {
                let cash = try Ledger.figures(of: session, until: now, in: transaction, zone: nil).expectedCashMinor
                guard amountMinor <= cash else { throw DomainError(.invalidArgument, "\(amountMinor) is more than the \(cash) the drawer should hold") }
            }
            try transaction.insert("drawer_movements", ["id": .text(UUIDv7.generate(milliseconds: UInt64(now.milliseconds))), "session_id": .text(session.id.rawValue),
                                                        "kind": .text(paidIn ? "paid_in" : "paid_out"), "amount_minor": .integer(amountMinor), "reason": .text(text),
                                                        "actor": .text(actor.name), "at": .instant(now)])
            return try report(session, in: transaction)
        }
    }

    func report(_ session: DrawerSession, in context: some QueryContext) throws -> DrawerReport {
        let zone = try? ZoneRules.named(Loader.branch(session.branchID, in: context).timeZone)
        return try Ledger.figures(of: session, until: now, in: context, zone: zone)
    }

    package func xReport(till: String = "main") throws -> DrawerReport {
        try readSnapshot { transaction in
            guard let session = try openSession(till: till, in: transaction) else { throw DomainError(.drawerClosed, "the drawer is not open") }
            return try report(session, in: transaction)
        }
    }

    /// Closes the drawer: the counted cash by denomination against the expected, and the Z report,
    /// numbered on this box without gaps.
    package func closeDrawer(counted: [Int64: Int], note: String, till: String = "main", actor: MoneyActor) throws -> DrawerReport {
        try write(.drawerClose) { transaction in
            guard let session = try openSession(till: till, in: transaction) else { throw DomainError(.drawerClosed, "the drawer is not open") }
            let allowed = Set(Denominations.of(session.currency))
            for (value, count) in counted {
                guard allowed.contains(value) else { throw DomainError(.invalidArgument, "\(value) is not a note or coin of \(session.currency)") }
                guard (0...100_000).contains(count) else { throw DomainError(.invalidArgument, "a count is 0 to 100000") }
            }
            var figures = try report(session, in: transaction)
            let denominations = Denominations.of(session.currency).map { DrawerReport.Denomination(valueMinor: $0, count: counted[$0] ?? 0) }
            let total = denominations.reduce(0) { $0 + $1.valueMinor * Int64($1.count) }
            let number = (try transaction.fetchOne("SELECT max(number) AS n FROM z_reports WHERE site = ?", [.text(siteHex)])?["n"].int64 ?? 0) + 1
            let id = ZReportID.generate(at: now)
            figures.id = id
            figures.number = Int(number)
            figures.closedAt = now
            figures.closedBy = actor.name
            figures.counted = DrawerReport.Counted(denominations: denominations, totalMinor: total)
            figures.varianceMinor = total - figures.expectedCashMinor
            figures.note = String(note.prefix(1000))
            try transaction.insert("z_reports", ["id": .text(id.rawValue), "session_id": .text(session.id.rawValue), "site": .text(siteHex), "number": .integer(number),
                                                 "branch_id": .text(session.branchID.rawValue), "closed_at": .instant(now), "closed_by": .text(actor.name),
                                                 "counted": .text(JSONColumn.encode(denominations)), "counted_minor": .integer(total),
                                                 "figures": .text(JSONColumn.encode(figures)), "note": .text(figures.note)])
            return figures
        }
    }

    package func zReports(branch: BranchID?, site: String?, limit: Int = 100) throws -> [DrawerReport] {
        try readSnapshot { transaction in
            try transaction.fetchAll("""
                SELECT figures FROM z_reports WHERE (? = '' OR branch_id = ?) AND (? = '' OR substr(site, 1, length(?)) = ?) ORDER BY closed_at DESC, site, number DESC LIMIT ?
                """, [.text(branch?.rawValue ?? ""), .text(branch?.rawValue ?? ""), .text(site ?? ""), .text(site ?? ""), .text(site ?? ""), .int(limit)])
                .compactMap { JSONColumn.decodeIfPresent(DrawerReport.self, $0["figures"]) }
        }
    }

    package func zReport(_ id: ZReportID) throws -> DrawerReport {
        try read { transaction in
            guard let row = try transaction.fetchOne("SELECT figures FROM z_reports WHERE id = ?", [.text(id.rawValue)]),
                  let report = JSONColumn.decodeIfPresent(DrawerReport.self, row["figures"]) else { throw DomainError(.notFound, "no Z report \(id)") }
            return report
        }
    }

    static func makeToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        return String(Sodium.randomBytes(26).map { alphabet[Int($0) & 31] })
    }
}
