import Domain
import Foundation
import HTTPTypes

/// How the box's money side is wired: set by the node.
public struct MoneyConfiguration: Sendable {
    /// A fiscal register is configured: every sale and refund is fiscal pending until it answers.
    public var fiscalRequired = false
    /// A Kaspi QR gateway is configured (the relay's).
    public var kaspiQR = false
    /// Whether the box can reach the internet now (card and Kaspi refunds need it).
    public var isOnline: @Sendable () -> Bool = { true }
    /// Called after a write that gives the QR processor work (a new Kaspi QR, a Kaspi refund).
    public var wakeQR: @Sendable () -> Void = {}
    /// Called after a write that may give the fiscal outbox work.
    public var wakeFiscal: @Sendable () -> Void = {}

    public init() {}
}

extension MoneyHandlers {
    /// Sales, payments, the drawer, reports, settings (docs/money.md).
    static let endpoints: [Endpoint] = [
        Endpoint(.post, "/v1/sales", .moneyTake, body: .json("SaleInput"), answers: [201: .json("Sale")], MoneyHandlers.checkout),
        Endpoint(.get, "/v1/sales", .moneyRead, query: ["branch", "date", "client", "appointment", "fiscal"], answers: [200: .json("SalePage")], MoneyHandlers.listSales),
        Endpoint(.get, "/v1/sales/{id}", .moneyRead, answers: [200: .json("Sale")], MoneyHandlers.getSale),
        Endpoint(.get, "/v1/sales/{id}/receipt", .moneyRead, answers: [200: .json("Receipt")], MoneyHandlers.receipt),
        Endpoint(.post, "/v1/sales/{id}/payments", .moneyTake, body: .json("PaymentInput"), answers: [201: .json("Payment")], MoneyHandlers.pay),
        Endpoint(.post, "/v1/sales/{id}/void", .moneyTake, body: .json("VoidInput"), answers: [200: .json("Sale")], MoneyHandlers.voidSale),
        Endpoint(.post, "/v1/sales/{id}/returns", .moneyTake, body: .json("ReturnInput"), answers: [201: .json("SaleReturn")], MoneyHandlers.returnProducts),
        Endpoint(.get, "/v1/payments/unverified", .moneyRead, query: ["branch"], answers: [200: .json("PaymentPage")], MoneyHandlers.unverified),
        Endpoint(.get, "/v1/payments/{id}", .moneyRead, answers: [200: .json("Payment")], MoneyHandlers.getPayment),
        Endpoint(.post, "/v1/payments/{id}/refund", .moneyTake, body: .json("RefundInput"), answers: [201: .json("Payment")], MoneyHandlers.refund),
        Endpoint(.post, "/v1/payments/{id}/void", .moneyTake, body: .json("VoidInput"), answers: [200: .json("Payment")], MoneyHandlers.voidPayment),
        Endpoint(.post, "/v1/payments/{id}/cancel", .moneyTake, body: .optionalJSON("EmptyInput"), answers: [200: .json("Payment")], MoneyHandlers.cancel),
        Endpoint(.post, "/v1/payments/{id}/verify", .moneyVerify, body: .json("VerifyInput"), answers: [200: .json("Payment")], MoneyHandlers.verify),
        Endpoint(.get, "/v1/money/anomalies", .moneyReports, answers: [200: .json("AnomalyPage")], MoneyHandlers.anomalies),
        Endpoint(.post, "/v1/money/anomalies/{id}/resolve", .moneyReports, body: .json("ResolveInput"), answers: [200: .json("Anomaly")], MoneyHandlers.resolve),
        Endpoint(.get, "/v1/money/settings", .moneyRead, query: ["branch"], answers: [200: .json("MoneySettings")], MoneyHandlers.settings),
        Endpoint(.put, "/v1/money/settings", .moneySettings, query: ["branch"], body: .json("MoneySettingsInput"), answers: [200: .json("MoneySettings")], MoneyHandlers.saveSettings),
        Endpoint(.get, "/v1/drawer", .moneyRead, answers: [200: .json("Drawer")], MoneyHandlers.drawer),
        Endpoint(.post, "/v1/drawer/open", .drawerOperate, body: .json("DrawerOpenInput"), answers: [201: .json("Drawer")], MoneyHandlers.openDrawer),
        Endpoint(.post, "/v1/drawer/movements", .drawerOperate, body: .json("DrawerMovementInput"), answers: [201: .json("Report")], MoneyHandlers.movement),
        Endpoint(.get, "/v1/drawer/x-report", .drawerOperate, answers: [200: .json("Report")], MoneyHandlers.xReport),
        Endpoint(.post, "/v1/drawer/close", .drawerOperate, body: .json("DrawerCloseInput"), answers: [201: .json("Report")], MoneyHandlers.closeDrawer),
        Endpoint(.get, "/v1/z-reports", .moneyReports, query: ["branch", "box"], answers: [200: .json("ReportPage")], MoneyHandlers.zReports),
        Endpoint(.get, "/v1/z-reports/{id}", .drawerOperate, answers: [200: .json("Report")], MoneyHandlers.zReport),
        Endpoint(.get, "/v1/receipts/{token}", .open, answers: [200: .json("Receipt")], MoneyHandlers.publicReceipt),
    ]
}

enum MoneyHandlers {
    // MARK: Bodies

    struct TaxRateBody: Codable {
        var id: String
        var name: String
        var rateBp: Int
        var included: Bool
        init(_ rate: TaxRate) { id = rate.id; name = rate.name; rateBp = rate.rateBasisPoints; included = rate.included }
    }

    struct LineBody: Encodable {
        var kind: String
        var ref: String?
        /// A product line's product.
        var product: String?
        /// A gift-card line's card.
        var giftCard: String?
        var staff: String?
        var appointment: String?
        var name: String
        var names: [String: String]
        var quantity: Int
        var unitPriceMinor: Int64
        var discountMinor: Int64
        var netMinor: Int64
        var taxRate: TaxRateBody?
        var taxMinor: Int64
        var totalMinor: Int64
    }

    struct QRBody: Encodable {
        var token: String
        var expiresAt: String
        var pollIntervalSeconds: Int
    }

    struct PaymentBody: Encodable {
        var id: String
        var sale: String
        var saleNumber: String?
        var kind: String
        var reverses: String?
        var method: String
        var amountMinor: Int64
        var currency: String
        var tenderedMinor: Int64
        var changeMinor: Int64
        var cardLast4: String
        var approvalCode: String
        var reference: String
        var status: String
        var deadline: String?
        var qr: QRBody?
        var qrError: String?
        var cancelRequested: Bool
        var failureReason: String?
        var refundableMinor: Int64
        var reason: String
        var box: String
        var drawerSession: String?
        var createdAt: String
        var createdBy: String
        var approvedBy: String

        init(_ payment: Payment, zones: Zones, saleNumber: String? = nil) {
            id = payment.id.rawValue
            sale = payment.saleID.rawValue
            self.saleNumber = saleNumber
            kind = payment.kind.rawValue
            reverses = payment.reverses?.rawValue
            method = payment.method.rawValue
            amountMinor = payment.amount.amountMinor
            currency = payment.amount.currency
            tenderedMinor = payment.tenderedMinor
            changeMinor = payment.changeMinor
            cardLast4 = payment.cardLast4
            approvalCode = payment.approvalCode
            reference = payment.reference
            status = payment.status.rawValue
            deadline = zones.format(optional: payment.deadline, branch: nil)
            qr = payment.status == .pending ? payment.qr.map { QRBody(token: $0.qrToken, expiresAt: zones.format($0.expiresAt, branch: nil), pollIntervalSeconds: max(1, $0.pollIntervalSeconds)) } : nil
            qrError = payment.qrError
            cancelRequested = payment.cancelRequested
            failureReason = payment.failureReason.isEmpty ? nil : payment.failureReason
            refundableMinor = payment.refundableMinor
            reason = payment.reason
            box = String(payment.site.prefix(16))
            drawerSession = payment.drawerSessionID?.rawValue
            createdAt = zones.format(payment.createdAt, branch: nil)
            createdBy = payment.createdBy
            approvedBy = payment.approvedBy
        }
    }

    struct DiscountBody: Encodable {
        var percent: Int?
        var amountMinor: Int64
        var reason: String
        var approvedBy: String
        /// A coupon's discount: its code and id.
        var coupon: String?
        var couponId: String?
    }

    struct TipBody: Encodable {
        var staff: String
        var amountMinor: Int64
    }

    struct VoidBody: Encodable {
        var at: String
        var by: String
        var reason: String
    }

    struct FiscalBody: Encodable {
        var status: String
        var checkNumber: String?
        var url: String?
        var register: String?
        var error: String?
    }

    struct SaleBody: Encodable {
        var id: String
        var number: String
        var branch: String
        var client: String?
        var appointments: [String]
        var currency: String
        var createdAt: String
        var createdBy: String
        var lines: [LineBody]
        var discount: DiscountBody?
        var tips: [TipBody]
        var subtotalMinor: Int64
        var discountMinor: Int64
        var taxMinor: Int64
        var tipsMinor: Int64
        var totalMinor: Int64
        var paidMinor: Int64
        var refundedMinor: Int64
        var balanceMinor: Int64
        var state: String
        var payments: [PaymentBody]
        var voided: VoidBody?
        var fiscal: FiscalBody
        var receiptToken: String
        var box: String

        init(_ sale: Sale, zones: Zones, language: String = "en") {
            id = sale.id.rawValue
            number = sale.number
            branch = sale.branchID.rawValue
            client = sale.clientID?.rawValue
            appointments = sale.appointmentIDs.map(\.rawValue)
            currency = sale.currency
            createdAt = zones.format(sale.createdAt, branch: sale.branchID)
            createdBy = sale.createdBy
            lines = sale.lines.map { line in
                LineBody(kind: line.kind.rawValue, ref: line.reference.isEmpty ? nil : line.reference,
                         product: line.kind == .product && !line.reference.isEmpty ? line.reference : nil,
                         giftCard: line.kind == .giftCard && !line.reference.isEmpty ? line.reference : nil, staff: line.staffID?.rawValue,
                         appointment: line.appointmentID?.rawValue, name: line.name(in: language), names: line.names, quantity: line.quantity,
                         unitPriceMinor: line.unitPriceMinor, discountMinor: line.discountMinor, netMinor: line.netMinor,
                         taxRate: line.taxRate.map(TaxRateBody.init), taxMinor: line.taxMinor, totalMinor: line.totalMinor)
            }
            discount = sale.discount.map { DiscountBody(percent: $0.percent, amountMinor: $0.amountMinor, reason: $0.reason, approvedBy: $0.approvedBy,
                                                        coupon: $0.coupon, couponId: $0.couponID?.rawValue) }
            tips = sale.tips.map { TipBody(staff: $0.staffID.rawValue, amountMinor: $0.amountMinor) }
            subtotalMinor = sale.subtotalMinor
            discountMinor = sale.discountMinor
            taxMinor = sale.taxMinor
            tipsMinor = sale.tipsMinor
            totalMinor = sale.totalMinor
            paidMinor = sale.paidMinor
            refundedMinor = sale.refundedMinor
            balanceMinor = sale.balanceMinor
            state = sale.state.rawValue
            payments = sale.payments.filter { $0.kind != .void }.map { PaymentBody($0, zones: zones) }
            voided = sale.voidRecord.map { VoidBody(at: zones.format($0.at, branch: sale.branchID), by: $0.by, reason: $0.reason) }
            fiscal = FiscalBody(status: sale.fiscal.rawValue, checkNumber: sale.fiscalReceipt?.checkNumber, url: sale.fiscalReceipt?.url,
                                register: sale.fiscalReceipt?.register, error: sale.fiscalError.isEmpty ? nil : sale.fiscalError)
            receiptToken = sale.receiptToken
            box = String(sale.site.prefix(16))
        }
    }

    struct SessionBody: Encodable {
        var id: String
        var box: String
        var till: String
        var branch: String
        var openedAt: String
        var openedBy: String
        var floatMinor: Int64
        var currency: String
        init(_ session: DrawerSession, zones: Zones) {
            id = session.id.rawValue
            box = String(session.site.prefix(16))
            till = session.till
            branch = session.branchID.rawValue
            openedAt = zones.format(session.openedAt, branch: session.branchID)
            openedBy = session.openedBy
            floatMinor = session.floatMinor
            currency = session.currency
        }
    }

    struct ReportBody: Encodable {
        struct Method: Encodable {
            var method: String
            var paymentsMinor: Int64
            var refundsMinor: Int64
            var netMinor: Int64
            var count: Int
        }
        struct TipTotal: Encodable {
            var staff: String
            var name: String
            var amountMinor: Int64
        }
        struct Counted: Encodable {
            struct Denomination: Encodable {
                var valueMinor: Int64
                var count: Int
            }
            var denominations: [Denomination]
            var totalMinor: Int64
        }
        struct Unfiscalised: Encodable {
            var sale: String
            var number: String
            var totalMinor: Int64
        }
        var id: String?
        var number: Int?
        var kind: String
        var box: String
        var till: String
        var branch: String
        var sessionId: String
        var openedAt: String
        var openedBy: String
        var closedAt: String?
        var closedBy: String?
        var currency: String
        var floatMinor: Int64
        var cashSalesMinor: Int64
        var cashRefundsMinor: Int64
        var paidInMinor: Int64
        var paidOutMinor: Int64
        var expectedCashMinor: Int64
        var counted: Counted?
        var varianceMinor: Int64?
        var methods: [Method]
        var refundsMinor: Int64
        var discountsMinor: Int64
        var taxMinor: Int64
        var tips: [TipTotal]
        var salesCount: Int
        var visitsCount: Int
        var voidsCount: Int
        var unverified: [PaymentBody]
        var unfiscalised: [Unfiscalised]
        var overMidnight: Bool
        var note: String

        init(_ report: DrawerReport, unverified payments: [Payment], zones: Zones) {
            let branchID = report.session.branchID
            id = report.id?.rawValue
            number = report.number
            kind = report.id == nil ? "x" : "z"
            box = String(report.session.site.prefix(16))
            till = report.session.till
            branch = branchID.rawValue
            sessionId = report.session.id.rawValue
            openedAt = zones.format(report.session.openedAt, branch: branchID)
            openedBy = report.session.openedBy
            closedAt = zones.format(optional: report.closedAt, branch: branchID)
            closedBy = report.closedAt == nil ? nil : report.closedBy
            currency = report.session.currency
            floatMinor = report.floatMinor
            cashSalesMinor = report.cashSalesMinor
            cashRefundsMinor = report.cashRefundsMinor
            paidInMinor = report.paidInMinor
            paidOutMinor = report.paidOutMinor
            expectedCashMinor = report.expectedCashMinor
            counted = report.counted.map { Counted(denominations: $0.denominations.map { .init(valueMinor: $0.valueMinor, count: $0.count) }, totalMinor: $0.totalMinor) }
            varianceMinor = report.varianceMinor
            methods = report.methods.map { Method(method: $0.method.rawValue, paymentsMinor: $0.paymentsMinor, refundsMinor: $0.refundsMinor, netMinor: $0.netMinor, count: $0.count) }
            refundsMinor = report.refundsMinor
            discountsMinor = report.discountsMinor
            taxMinor = report.taxMinor
            tips = report.tips.map { TipTotal(staff: $0.staffID.rawValue, name: $0.name, amountMinor: $0.amountMinor) }
            salesCount = report.salesCount
            visitsCount = report.visitsCount
            voidsCount = report.voidsCount
            unverified = payments.map { PaymentBody($0, zones: zones) }
            unfiscalised = report.unfiscalised.map { Unfiscalised(sale: $0.saleID.rawValue, number: $0.number, totalMinor: $0.totalMinor) }
            overMidnight = report.overMidnight
            note = report.note
        }
    }

    static func reportBody(_ report: DrawerReport, call: Call) async throws -> ReportBody {
        var payments: [Payment] = []
        for id in report.unverified { if let payment = try? await call.shop.money.payment(id) { payments.append(payment) } }
        return ReportBody(report, unverified: payments, zones: call.zones)
    }

    // MARK: Rights and approval

    /// What the caller may do, raised by a manager's approval (`approval: {person, pin}`) when sent.
    static func rights(_ call: Call, _ body: BodyReader) async throws -> MoneyRights {
        var rights = MoneyRights.of(call.role)
        guard let approval = body.object("approval") else { return rights }
        let person = approval.id("person", required: true, as: PersonID.self)
        let pin = approval.string("pin", required: true, maxLength: 8, allowEmpty: false)
        approval.finish()
        try body.validate()
        guard let person, let pin else { throw APIError.validation([]) }
        let approver: Person
        do {
            approver = try await call.shop.access.verifyApproval(person: person, pin: pin, policy: call.api.configuration.access)
        } catch let error as DomainError where error.code == .unauthenticated {
            throw APIError(status: 403, kind: "approval_failed", title: "The approval was not accepted", detail: "wrong person or PIN for the approval")
        }
        let granted = MoneyRights.of(approver.role)
        guard granted.mayDiscount || granted.mayRefund else {
            throw APIError(status: 403, kind: "approval_failed", title: "The approval was not accepted", detail: "\(approver.name) may not approve (needs an owner or a manager)")
        }
        rights = MoneyRights(mayDiscount: rights.mayDiscount || granted.mayDiscount, mayRefund: rights.mayRefund || granted.mayRefund,
                             mayExceedCaps: rights.mayExceedCaps || granted.mayExceedCaps,
                             mayOverrideStock: rights.mayOverrideStock || granted.mayOverrideStock, approvedBy: approver.name)
        return rights
    }

    static func language(_ call: Call) -> String {
        let header = call.request.headers[.acceptLanguage] ?? ""
        for language in ["ru", "kk", "en"] where header.lowercased().hasPrefix(language) { return language }
        return "en"
    }

    // MARK: Sales

    static func paymentRequest(_ body: BodyReader, kaspi: Bool) -> PaymentRequest? {
        let method = body.enumeration("method", required: true, as: PaymentMethod.self, allowed: PaymentMethod.allCases)
        let amount = body.integer("amount_minor", required: true, range: 1...100_000_000_000)
        let tendered = body.integer("tendered_minor", range: 1...100_000_000_000)
        let last4 = body.string("card_last4", maxLength: 4)
        let code = body.string("approval_code", maxLength: 32)
        let reference = body.string("reference", maxLength: 200)
        let cardCode = body.string("gift_card_code", maxLength: 40)
        if method == .kaspiQR, !kaspi { body.errors.add("method", "kaspi_qr is not set up on this box (no Kaspi gateway); use kaspi_static") }
        if method == .giftCard, (cardCode ?? "").isEmpty, !(reference ?? "").hasPrefix("card:") {
            body.reject("gift_card_code", "is required for a gift_card payment (the card's code as typed or scanned)")
        }
        if let cardCode, !cardCode.isEmpty, method != .giftCard { body.reject("gift_card_code", "is only for a gift_card payment") }
        guard let method, let amount else { return nil }
        return PaymentRequest(method: method, amountMinor: amount, tenderedMinor: tendered, cardLast4: last4 ?? "", approvalCode: code ?? "", reference: reference ?? "",
                              giftCardCode: cardCode ?? "")
    }

    static func checkout(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let branch = body.id("branch", as: BranchID.self)
        let client = body.id("client", as: ClientID.self)
        let appointmentReaders = body.strings("appointments", maxCount: 20, maxLength: 64) ?? []
        var appointments: [AppointmentID] = []
        for (index, raw) in appointmentReaders.enumerated() {
            if let id = AppointmentID(raw) { appointments.append(id) } else { body.errors.add("appointments[\(index)]", "is not a UUIDv7 id") }
        }
        var lines: [CheckoutRequest.CustomLine] = []
        for line in body.objects("lines", maxCount: 100) ?? [] {
            let name = line.string("name", required: true, maxLength: 200, allowEmpty: false)
            let quantity = line.int("quantity", range: 1...10_000)
            let price = line.integer("unit_price_minor", required: true, range: 0...100_000_000_000)
            let rate = line.string("tax_rate", maxLength: 32)
            line.finish()
            if let name, let price { lines.append(.init(name: name, quantity: quantity ?? 1, unitPriceMinor: price, taxRate: rate)) }
        }
        var discount: CheckoutRequest.Discount?
        if let object = body.object("discount") {
            let percent = object.int("percent", range: 0...100)
            let amount = object.integer("amount_minor", range: 0...100_000_000_000)
            let reason = object.string("reason", required: true, maxLength: 500, allowEmpty: false)
            object.finish()
            if (percent == nil) == (amount == nil) { body.errors.add("discount", "give either percent or amount_minor") }
            discount = CheckoutRequest.Discount(percent: percent, amountMinor: amount, reason: reason ?? "")
        }
        var tips: [Tip] = []
        for tip in body.objects("tips", maxCount: 20) ?? [] {
            let staff = tip.id("staff", required: true, as: StaffID.self)
            let amount = tip.integer("amount_minor", required: true, range: 1...100_000_000_000)
            tip.finish()
            if let staff, let amount { tips.append(Tip(staffID: staff, amountMinor: amount)) }
        }
        var payments: [PaymentRequest] = []
        for payment in body.objects("payments", maxCount: 10) ?? [] {
            let request = paymentRequest(payment, kaspi: call.api.configuration.money.kaspiQR)
            payment.finish()
            if let request { payments.append(request) }
        }
        var products: [ProductSaleLine] = []
        for line in body.objects("products", maxCount: 100) ?? [] {
            let product = line.id("product", required: true, as: ProductID.self)
            let quantity = line.int("quantity", range: 1...10_000)
            line.finish()
            if let product { products.append(ProductSaleLine(productID: product, quantity: quantity ?? 1)) }
        }
        var cards: [GiftCardSaleLine] = []
        for card in body.objects("gift_cards", maxCount: 20) ?? [] {
            let amount = card.integer("amount_minor", required: true, range: 1...100_000_000_000)
            let code = card.string("code", maxLength: 40)
            let expires = card.instant("expires_at")
            let owner = card.id("client", as: ClientID.self)
            card.finish()
            if let code, !code.isEmpty, !(8...32).contains(code.filter({ $0 != " " && $0 != "-" }).count)
                || !code.allSatisfy({ $0 == " " || $0 == "-" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) {
                card.reject("code", "must be a pre-printed card's 8–32 letters and digits (spaces and dashes may separate groups)")
            }
            if let expires, expires <= call.shop.now { card.reject("expires_at", "must be in the future") }
            if let amount { cards.append(GiftCardSaleLine(amountMinor: amount, code: code ?? "", expiresAt: expires, clientID: owner)) }
        }
        let coupon = body.string("coupon", maxLength: 32, allowEmpty: false)
        if coupon != nil, discount != nil { body.reject("coupon", "does not combine with a manual discount") }
        let stockOverride = body.bool("stock_override") ?? false
        let rights = try await rights(call, body)
        try body.validate()
        let branchID = try call.branch(branch)
        let request = CheckoutRequest(branchID: branchID, clientID: client, appointmentIDs: appointments, lines: lines, discount: discount, tips: tips, payments: payments,
                                      products: products, giftCards: cards, coupon: coupon, stockOverride: stockOverride)
        let money = call.api.configuration.money
        let shop = call.shop
        let tenders = payments
        let sale = try await RetailHandlers.elsewhere(call, account: {
            // Which account was held elsewhere: the coupon's when one is named and is held elsewhere, else a payment's.
            if let coupon, let found = try? await shop.retail.coupon(code: coupon), (try? await shop.retail.balance(.coupon(found.id)))?.here == 0 {
                return .coupon(found.id)
            }
            for payment in tenders { if let account = try await escrowAccount(payment, client: client, shop: shop) { return account } }
            return nil
        }) {
            try await call.shop.money.checkout(request, rights: rights, fiscalRequired: money.fiscalRequired, as: call.acting)
        }
        if payments.contains(where: { $0.method == .kaspiQR }) { money.wakeQR() }
        money.wakeFiscal()
        return .json(SaleBody(sale, zones: call.zones, language: language(call)), status: 201, location: "/v1/sales/\(sale.id)")
    }

    static func listSales(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        let date = query.date("date")
        let client = query.id("client", as: ClientID.self)
        let appointment = query.id("appointment", as: AppointmentID.self)
        let fiscal = query.string("fiscal", maxLength: 16)
        try query.validate()
        let shop = call.shop
        let sales: [Sale]
        if let appointment {
            sales = try await shop.money.sales(appointment: appointment)
        } else if let client {
            sales = try await shop.money.sales(client: client)
        } else if let fiscal {
            guard fiscal == "pending" else { throw APIError.invalidParameters([FieldError(field: "fiscal", message: "must be pending")]) }
            sales = try await shop.money.unfiscalisedSales()
        } else {
            let branchID = try call.branch(branch)
            let found = try await shop.catalogue.branch(branchID)
            let zone = try ZoneRules.named(found.timeZone)
            let day = date ?? zone.localDate(of: shop.now)
            sales = try await shop.money.sales(branch: branchID, from: zone.startOfDay(day), until: zone.startOfDay(day.adding(days: 1)))
        }
        let language = language(call)
        return .json(Page(items: sales.map { SaleBody($0, zones: call.zones, language: language) }, nextCursor: nil))
    }

    static func getSale(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SaleID.self)
        return .json(SaleBody(try await call.shop.money.sale(id), zones: call.zones, language: language(call)))
    }

    struct ReceiptBody: Encodable {
        struct Seller: Encodable {
            var name: String
            var address: String
            var phone: String
            var vatNumber: String
        }
        var sale: SaleBody
        var seller: Seller
        var vatRegistered: Bool
        var notFiscal: Bool
        var branchName: String
        var timeZone: String
    }

    static func receiptBody(_ sale: Sale, call: Call) async throws -> ReceiptBody {
        let settings = try await call.shop.money.settings(branch: sale.branchID)
        let branch = try await call.shop.catalogue.branch(sale.branchID)
        let body = SaleBody(sale, zones: call.zones, language: language(call))
        return ReceiptBody(sale: body, seller: .init(name: settings.sellerName, address: settings.sellerAddress, phone: branch.phone,
                                                     vatNumber: settings.vatRegistered ? settings.vatNumber : ""),
                           vatRegistered: settings.vatRegistered, notFiscal: sale.fiscalReceipt == nil, branchName: branch.name, timeZone: branch.timeZone)
    }

    static func receipt(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SaleID.self)
        return .json(try await receiptBody(try await call.shop.money.sale(id), call: call))
    }

    static func publicReceipt(_ call: Call) async throws -> Reply {
        let token = call.parameter("token")
        guard token.count == 26, token.allSatisfy({ "abcdefghijklmnopqrstuvwxyz234567".contains($0) }) else {
            throw APIError(status: 404, kind: "invalid_token", title: "No receipt has this link", detail: "the link is not a receipt's")
        }
        let sale: Sale
        do {
            sale = try await call.shop.money.sale(receiptToken: token)
        } catch let error as DomainError where error.code == .invalidToken {
            throw APIError(status: 404, kind: "invalid_token", title: "No receipt has this link", detail: error.message)
        }
        // What a client sees: no ids of the client or the drawer, no card approval codes.
        var body = try await receiptBody(sale, call: call)
        body.sale.client = nil
        body.sale.payments = body.sale.payments.map { payment in
            var payment = payment
            payment.approvalCode = ""
            payment.drawerSession = nil
            return payment
        }
        return .json(body)
    }

    static func pay(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SaleID.self)
        let body = try call.bodyReader()
        let request = paymentRequest(body, kaspi: call.api.configuration.money.kaspiQR)
        let rights = try await rights(call, body)
        try body.validate()
        guard let request else { throw APIError.validation([]) }
        let shop = call.shop
        let payment = try await RetailHandlers.elsewhere(call, account: {
            try await escrowAccount(request, client: try await shop.money.sale(id).clientID, shop: shop)
        }) {
            try await call.shop.money.takePayment(id, request, rights: rights, as: call.acting)
        }
        let money = call.api.configuration.money
        if request.method == .kaspiQR { money.wakeQR() }
        money.wakeFiscal()
        return .json(PaymentBody(payment, zones: call.zones), status: 201, location: "/v1/payments/\(payment.id)")
    }

    /// The escrow account a points or gift-card payment spends (nil for other methods or an unknown card).
    static func escrowAccount(_ request: PaymentRequest, client: ClientID?, shop: Shop) async throws -> EscrowAccount? {
        switch request.method {
        case .points:
            return client.map { .points($0) }
        case .giftCard:
            if let account = EscrowAccount(request.reference), case .giftCard = account { return account }
            return try? await .giftCard(shop.retail.giftCard(code: request.giftCardCode).id)
        default:
            return nil
        }
    }

    struct ReturnBody: Encodable {
        var sale: String
        var lines: [RetailHandlers.QuantityBody]
        var restock: Bool
        var reason: String
        var refundableMinor: Int64
        var movements: [String]
    }

    static func returnProducts(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SaleID.self)
        let body = try call.bodyReader()
        let lines = RetailHandlers.quantities(body, "lines", range: 1...10_000)
        let restock = body.bool("restock") ?? true
        let reason = body.string("reason", required: true, maxLength: 500, allowEmpty: false)
        let rights = try await rights(call, body)
        try body.validate()
        let done = try await call.shop.retail.returnProducts(sale: id, lines: lines, restock: restock, reason: reason ?? "", rights: rights, as: call.acting)
        return .json(ReturnBody(sale: done.saleID.rawValue, lines: done.lines.map(RetailHandlers.QuantityBody.init), restock: done.restock, reason: done.reason,
                                refundableMinor: done.refundableMinor, movements: done.movements.map(\.rawValue)), status: 201)
    }

    static func voidSale(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: SaleID.self)
        let body = try call.bodyReader()
        let reason = body.string("reason", required: true, maxLength: 500, allowEmpty: false)
        let rights = try await rights(call, body)
        try body.validate()
        let sale = try await call.shop.money.voidSale(id, reason: reason ?? "", rights: rights, as: call.acting)
        return .json(SaleBody(sale, zones: call.zones, language: language(call)))
    }

    // MARK: Payments

    static func getPayment(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: PaymentID.self)
        return .json(PaymentBody(try await call.shop.money.payment(id), zones: call.zones))
    }

    static func unverified(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        let found = try await call.shop.money.unverifiedPayments(branch: branch)
        return .json(Page(items: found.map { PaymentBody($0.payment, zones: call.zones, saleNumber: $0.saleNumber) }, nextCursor: nil))
    }

    static func refund(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: PaymentID.self)
        let body = try call.bodyReader()
        let amount = body.integer("amount_minor", required: true, range: 1...100_000_000_000)
        let reason = body.string("reason", required: true, maxLength: 500, allowEmpty: false)
        let rights = try await rights(call, body)
        try body.validate()
        guard let amount, let reason else { throw APIError.validation([]) }
        // A retried refund (same Idempotency-Key on the same device) is the same refund: its id is
        // derived from the key, so the Kaspi gateway never refunds twice either.
        let key = call.request.headers[.init("Idempotency-Key")!]
        let refundID = key.map { PaymentID.derived(from: "refund", id.rawValue, call.principal?.device.id.rawValue ?? "", $0, at: call.shop.now) }
            ?? PaymentID.generate(at: call.shop.now)
        let money = call.api.configuration.money
        let refund = try await call.shop.money.refund(id, amountMinor: amount, reason: reason, refundID: refundID, online: money.isOnline(),
                                                      rights: rights, as: call.acting)
        if refund.method == .kaspiQR { money.wakeQR() }
        money.wakeFiscal()
        return .json(PaymentBody(refund, zones: call.zones), status: 201, location: "/v1/payments/\(refund.id)")
    }

    static func voidPayment(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: PaymentID.self)
        let body = try call.bodyReader()
        let reason = body.string("reason", required: true, maxLength: 500, allowEmpty: false)
        let rights = try await rights(call, body)
        try body.validate()
        return .json(PaymentBody(try await call.shop.money.voidPayment(id, reason: reason ?? "", rights: rights, as: call.acting), zones: call.zones))
    }

    static func cancel(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: PaymentID.self)
        if !call.body.isEmpty { try call.bodyReader().validate() }
        let payment = try await call.shop.money.cancelQR(id, as: call.acting)
        call.api.configuration.money.wakeQR()
        return .json(PaymentBody(payment, zones: call.zones))
    }

    static func verify(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: PaymentID.self)
        let body = try call.bodyReader()
        let outcome = body.string("outcome", required: true, maxLength: 16)
        let note = body.string("note", maxLength: 500)
        if let outcome, outcome != "verified", outcome != "failed" { body.errors.add("outcome", "must be verified or failed") }
        try body.validate()
        let payment = try await call.shop.money.verify(id, verified: outcome == "verified", note: note ?? "", as: call.acting)
        call.api.configuration.money.wakeFiscal()
        return .json(PaymentBody(payment, zones: call.zones))
    }

    // MARK: Anomalies

    struct AnomalyBody: Encodable {
        struct Resolution: Encodable {
            var at: String
            var by: String
            var note: String
        }
        var id: String
        var kind: String
        var sales: [String]
        var appointment: String?
        var payments: [String]
        var amountMinor: Int64
        var currency: String
        var resolved: Resolution?
        init(_ anomaly: MoneyAnomaly, zones: Zones) {
            id = anomaly.id.rawValue
            kind = anomaly.kind.rawValue
            sales = anomaly.saleIDs.map(\.rawValue)
            appointment = anomaly.appointmentID?.rawValue
            payments = anomaly.paymentIDs.map(\.rawValue)
            amountMinor = anomaly.amount.amountMinor
            currency = anomaly.amount.currency
            resolved = anomaly.resolution.map { Resolution(at: zones.format($0.at, branch: nil), by: $0.by, note: $0.note) }
        }
    }

    static func anomalies(_ call: Call) async throws -> Reply {
        try call.query().validate()
        return .json(Page(items: try await call.shop.money.anomalies().map { AnomalyBody($0, zones: call.zones) }, nextCursor: nil))
    }

    static func resolve(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: AnomalyID.self)
        let body = try call.bodyReader()
        let note = body.string("note", required: true, maxLength: 2000, allowEmpty: false, multiline: true)
        try body.validate()
        return .json(AnomalyBody(try await call.shop.money.resolveAnomaly(id, note: note ?? "", as: call.acting), zones: call.zones))
    }

    // MARK: Settings

    struct SettingsBody: Encodable {
        var branch: String
        var currency: String
        var taxRates: [TaxRateBody]
        var defaultTaxRate: String
        var vatRegistered: Bool
        var vatNumber: String
        var sellerName: String
        var sellerAddress: String
        var unverifiedPaymentCapMinor: Int64
        var unverifiedBoxCapMinor: Int64
        var unverifiedDeadlineHours: Int
        var unverifiedOutstandingMinor: Int64
        var methods: [String]
        var fiscalRegister: Bool
    }

    static func settingsBody(_ settings: MoneySettings, call: Call) async throws -> SettingsBody {
        let money = call.api.configuration.money
        return SettingsBody(branch: settings.branchID.rawValue, currency: settings.currency, taxRates: settings.taxRates.map(TaxRateBody.init),
                            defaultTaxRate: settings.defaultTaxRate, vatRegistered: settings.vatRegistered, vatNumber: settings.vatNumber,
                            sellerName: settings.sellerName, sellerAddress: settings.sellerAddress,
                            unverifiedPaymentCapMinor: settings.unverifiedPaymentCapMinor, unverifiedBoxCapMinor: settings.unverifiedBoxCapMinor,
                            unverifiedDeadlineHours: settings.unverifiedDeadlineHours,
                            unverifiedOutstandingMinor: try await call.shop.money.unverifiedOutstanding(),
                            methods: PaymentMethod.allCases.filter { $0 != .kaspiQR || money.kaspiQR }.map(\.rawValue), fiscalRegister: money.fiscalRequired)
    }

    static func settings(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        return .json(try await settingsBody(try await call.shop.money.settings(branch: try call.branch(branch)), call: call))
    }

    static func saveSettings(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        try query.validate()
        let branchID = try call.branch(branch)
        var settings = try await call.shop.money.settings(branch: branchID)
        let body = try call.bodyReader()
        if let rates = body.objects("tax_rates", maxCount: 20) {
            settings.taxRates = rates.compactMap { rate in
                let id = rate.string("id", required: true, maxLength: 32, allowEmpty: false)
                let name = rate.string("name", required: true, maxLength: 100, allowEmpty: false)
                let bp = rate.int("rate_bp", required: true, range: 0...10_000)
                let included = rate.bool("included", required: true)
                rate.finish()
                guard let id, let name, let bp, let included else { return nil }
                return TaxRate(id: id, name: name, rateBasisPoints: bp, included: included)
            }
        }
        if let value = body.string("default_tax_rate", maxLength: 32) { settings.defaultTaxRate = value }
        if let value = body.bool("vat_registered") { settings.vatRegistered = value }
        if let value = body.string("vat_number", maxLength: 50) { settings.vatNumber = value }
        if let value = body.string("seller_name", maxLength: 200) { settings.sellerName = value }
        if let value = body.string("seller_address", maxLength: 500) { settings.sellerAddress = value }
        if let value = body.integer("unverified_payment_cap_minor", range: 0...100_000_000_000) { settings.unverifiedPaymentCapMinor = value }
        if let value = body.integer("unverified_box_cap_minor", range: 0...100_000_000_000) { settings.unverifiedBoxCapMinor = value }
        if let value = body.int("unverified_deadline_hours", range: 1...72) { settings.unverifiedDeadlineHours = value }
        for key in ["branch", "currency", "unverified_outstanding_minor", "methods", "fiscal_register"] where body.has(key) { body.markSeen(key) }
        try body.validate()
        let saved = try await call.shop.money.saveSettings(settings, as: call.acting)
        return .json(try await settingsBody(saved, call: call))
    }

    // MARK: Drawer

    struct DrawerBody: Encodable {
        var session: SessionBody?
        var x: ReportBody?
        var denominations: [Int64]
        var currency: String
    }

    static func drawerBody(_ call: Call) async throws -> DrawerBody {
        let session = try await call.shop.money.drawerSession()
        var currency = session?.currency ?? "XXX"
        if session == nil, let home = call.shop.homeBranch { currency = try await call.shop.catalogue.branch(home).currency }
        var x: ReportBody?
        if session != nil { x = try await reportBody(try await call.shop.money.xReport(), call: call) }
        return DrawerBody(session: session.map { SessionBody($0, zones: call.zones) }, x: x, denominations: Denominations.of(currency), currency: currency)
    }

    static func drawer(_ call: Call) async throws -> Reply {
        try call.query().validate()
        return .json(try await drawerBody(call))
    }

    static func openDrawer(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let float = body.integer("float_minor", required: true, range: 0...100_000_000_000)
        let branch = body.id("branch", as: BranchID.self)
        try body.validate()
        _ = try await call.shop.money.openDrawer(branch: try call.branch(branch), floatMinor: float ?? 0, as: call.acting)
        return .json(try await drawerBody(call), status: 201)
    }

    static func movement(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        let kind = body.string("kind", required: true, maxLength: 16)
        let amount = body.integer("amount_minor", required: true, range: 1...100_000_000_000)
        let reason = body.string("reason", required: true, maxLength: 500, allowEmpty: false)
        if let kind, kind != "paid_in", kind != "paid_out" { body.errors.add("kind", "must be paid_in or paid_out") }
        try body.validate()
        let report = try await call.shop.money.drawerMovement(paidIn: kind == "paid_in", amountMinor: amount ?? 0, reason: reason ?? "", as: call.acting)
        return .json(try await reportBody(report, call: call), status: 201)
    }

    static func xReport(_ call: Call) async throws -> Reply {
        try call.query().validate()
        return .json(try await reportBody(try await call.shop.money.xReport(), call: call))
    }

    static func closeDrawer(_ call: Call) async throws -> Reply {
        let body = try call.bodyReader()
        var counted: [Int64: Int] = [:]
        if let object = body.object("counted", required: true) {
            for key in object.object.keys.sorted() {
                guard let value = Int64(key) else {
                    body.errors.add("counted.\(key)", "is not a denomination in minor units")
                    object.markSeen(key)
                    continue
                }
                if let count = object.int(key, range: 0...100_000) { counted[value] = count }
            }
            object.finish()
        }
        let note = body.string("note", maxLength: 1000, multiline: true)
        try body.validate()
        let report = try await call.shop.money.closeDrawer(counted: counted, note: note ?? "", as: call.acting)
        return .json(try await reportBody(report, call: call), status: 201, location: report.id.map { "/v1/z-reports/\($0)" })
    }

    static func zReports(_ call: Call) async throws -> Reply {
        let query = call.query()
        let branch = query.id("branch", as: BranchID.self)
        let box = query.string("box", maxLength: 64)
        try query.validate()
        var items: [ReportBody] = []
        for report in try await call.shop.money.zReports(branch: branch, site: box) { items.append(try await reportBody(report, call: call)) }
        return .json(Page(items: items, nextCursor: nil))
    }

    static func zReport(_ call: Call) async throws -> Reply {
        let id = try call.id("id", as: ZReportID.self)
        return .json(try await reportBody(try await call.shop.money.zReport(id), call: call))
    }
}
