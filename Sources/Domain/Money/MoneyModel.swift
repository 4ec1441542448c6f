import Replication

public enum SaleTag: Sendable {}
public enum PaymentTag: Sendable {}
public enum DrawerSessionTag: Sendable {}
public enum ZReportTag: Sendable {}
public enum AnomalyTag: Sendable {}

public typealias SaleID = Identifier<SaleTag>
public typealias PaymentID = Identifier<PaymentTag>
public typealias DrawerSessionID = Identifier<DrawerSessionTag>
public typealias ZReportID = Identifier<ZReportTag>
public typealias AnomalyID = Identifier<AnomalyTag>

/// A tax rate a business charges (e.g. VAT 12 % included in the price).
public struct TaxRate: Hashable, Sendable, Codable {
    /// A short stable key, e.g. `vat12`.
    public var id: String
    public var name: String
    /// Basis points: 1200 = 12 %.
    public var rateBasisPoints: Int
    /// Whether the price already includes the tax (else it is added on top).
    public var included: Bool

    public init(id: String, name: String, rateBasisPoints: Int, included: Bool) {
        self.id = id
        self.name = name
        self.rateBasisPoints = rateBasisPoints
        self.included = included
    }
}

/// A branch's money settings: tax rates, VAT details for receipts, offline caps.
public struct MoneySettings: Hashable, Sendable, Codable {
    public var branchID: BranchID
    public var currency: String
    public var taxRates: [TaxRate]
    /// The rate service lines get (`TaxRate.id`), or empty: none.
    public var defaultTaxRate: String
    public var vatRegistered: Bool
    public var vatNumber: String
    public var sellerName: String
    public var sellerAddress: String
    /// The largest unverified payment a person may take without a manager's approval.
    public var unverifiedPaymentCapMinor: Int64
    /// The most a box may hold unverified at once without a manager's approval.
    public var unverifiedBoxCapMinor: Int64
    /// Hours until an unverified payment must be verified (1–72).
    public var unverifiedDeadlineHours: Int

    public var defaultRate: TaxRate? { taxRates.first { $0.id == defaultTaxRate } }

    /// Caps by currency when the owner set none (about 100 US dollars a payment, 400 a box).
    static func defaultCaps(currency: String) -> (payment: Int64, box: Int64) {
        switch currency {
        case "KZT": (5_000_000, 20_000_000)
        case "BDT": (1_000_000, 4_000_000)
        case "RUB": (1_000_000, 4_000_000)
        default: (10_000, 40_000)
        }
    }
}

/// One line of a sale.
public struct SaleLine: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// A service of an appointment.
        case service
        /// A line typed at the desk.
        case custom
        /// A product (`reference` is its id); its stock movement names the sale.
        case product
        /// A gift card sold (`reference` is the card's id); no tax.
        case giftCard = "gift_card"
    }
    public var kind: Kind
    /// The offering (for a service line).
    public var reference: String
    /// The staff member who did the service, if any.
    public var staffID: StaffID?
    /// The appointment the line comes from, if any.
    public var appointmentID: AppointmentID?
    /// Names by language (`ru`, `kk`, `en`); a custom line has one under `""`.
    public var names: [String: String]
    public var quantity: Int
    public var unitPriceMinor: Int64
    /// The line's share of discounts.
    public var discountMinor: Int64
    /// quantity × unit price − discount.
    public var netMinor: Int64
    public var taxRate: TaxRate?
    public var taxMinor: Int64
    /// What the client pays for the line (net, plus tax when the tax is added).
    public var totalMinor: Int64

    public func name(in language: String) -> String {
        names[language] ?? names["en"] ?? names[""] ?? names.sorted { $0.key < $1.key }.first?.value ?? ""
    }
}

/// A discount on a whole sale: a percentage of the lines' nets or an amount, with a reason.
public struct SaleDiscount: Hashable, Sendable, Codable {
    public var percent: Int?
    public var amountMinor: Int64
    public var reason: String
    /// Who approved it when the person at the desk may not discount (`Acting.name` of the approver).
    public var approvedBy: String
    /// The coupon's code when the discount is a coupon's (it needs no approval).
    public var coupon: String?
    /// The coupon's id.
    public var couponID: CouponID?
}

/// A tip for a staff member.
public struct Tip: Hashable, Sendable, Codable {
    public var staffID: StaffID
    public var amountMinor: Int64

    public init(staffID: StaffID, amountMinor: Int64) {
        self.staffID = staffID
        self.amountMinor = amountMinor
    }
}

public enum PaymentMethod: String, Hashable, Sendable, Codable, CaseIterable {
    case cash
    /// The shop's own card terminal: last four digits and approval code recorded.
    case card
    /// A dynamic Kaspi QR through the relay's gateway.
    case kaspiQR = "kaspi_qr"
    /// The shop's printed Kaspi QR, confirmed by hand: unverified until a manager verifies it.
    case kaspiStatic = "kaspi_static"
    case bankTransfer = "bank_transfer"
    /// A client's loyalty points (`reference`: `points:<client id>`); spends this box's escrow of them.
    case points
    /// A gift card (`reference`: `card:<card id>`); spends this box's escrow of its balance.
    case giftCard = "gift_card"
}

public enum PaymentStatus: String, Hashable, Sendable, Codable {
    case settled
    /// Waiting for the provider (a Kaspi QR not yet paid, a Kaspi refund not yet done).
    case pending
    /// Taken by hand without the provider's confirmation (static QR).
    case unverified
    case verified
    case failed
    case voided

    /// Whether the amount counts as paid (or refunded).
    public var counts: Bool { self == .settled || self == .unverified || self == .verified }
}

/// A row of the payments ledger: a payment or a refund of one.
public struct Payment: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case payment
        case refund
        /// Cancels a payment entirely (same drawer session); shown as the payment's `voided` state.
        case void
    }
    public var id: PaymentID
    public var saleID: SaleID
    public var kind: Kind
    public var reverses: PaymentID?
    public var method: PaymentMethod
    public var amount: Money
    public var tenderedMinor: Int64
    public var changeMinor: Int64
    public var cardLast4: String
    public var approvalCode: String
    public var reference: String
    public var status: PaymentStatus
    /// For an unverified payment: when it must be verified by.
    public var deadline: Instant?
    /// For a Kaspi QR: the QR to show while pending.
    public var qr: QRInvoice?
    /// For a pending Kaspi QR whose gateway did not answer the last time it was asked (for the QR,
    /// or for its status): why.
    public var qrError: String?
    /// For a pending Kaspi QR: the desk gave it up (it still ends as Kaspi says).
    public var cancelRequested: Bool
    /// For a failed payment or refund: why (Kaspi's reason, a manager's note).
    public var failureReason: String
    /// What can still be refunded (for a counting payment).
    public var refundableMinor: Int64
    public var reason: String
    /// The box (site id, hex) that took it.
    public var site: String
    public var drawerSessionID: DrawerSessionID?
    public var createdAt: Instant
    public var createdBy: String
    public var approvedBy: String
}

/// A sale with its payments and derived balance.
public struct Sale: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable {
        case due, paid, overpaid, voided
    }
    public enum FiscalState: String, Hashable, Sendable, Codable {
        case notRequired = "not_required"
        case pending
        case done
        case failed
    }
    public var id: SaleID
    /// The box's receipt number, e.g. `K7QD-000012`.
    public var number: String
    public var branchID: BranchID
    public var clientID: ClientID?
    public var appointmentIDs: [AppointmentID]
    public var currency: String
    public var lines: [SaleLine]
    public var discount: SaleDiscount?
    public var tips: [Tip]
    public var subtotalMinor: Int64
    public var discountMinor: Int64
    public var taxMinor: Int64
    public var tipsMinor: Int64
    public var totalMinor: Int64
    public var paidMinor: Int64
    public var refundedMinor: Int64
    public var balanceMinor: Int64
    public var state: State
    public var payments: [Payment]
    public var voidRecord: VoidRecord?
    public var fiscal: FiscalState
    public var fiscalReceipt: FiscalReceipt?
    public var fiscalError: String
    public var receiptToken: String
    public var site: String
    public var drawerSessionID: DrawerSessionID?
    public var createdAt: Instant
    public var createdBy: String

    public struct VoidRecord: Hashable, Sendable, Codable {
        public var at: Instant
        public var by: String
        public var reason: String
    }
}

/// What the desk asks to sell.
public struct CheckoutRequest: Sendable {
    public struct CustomLine: Sendable {
        public var name: String
        public var quantity: Int
        public var unitPriceMinor: Int64
        public var taxRate: String?

        public init(name: String, quantity: Int, unitPriceMinor: Int64, taxRate: String? = nil) {
            self.name = name
            self.quantity = quantity
            self.unitPriceMinor = unitPriceMinor
            self.taxRate = taxRate
        }
    }
    public struct Discount: Sendable {
        public var percent: Int?
        public var amountMinor: Int64?
        public var reason: String

        public init(percent: Int? = nil, amountMinor: Int64? = nil, reason: String) {
            self.percent = percent
            self.amountMinor = amountMinor
            self.reason = reason
        }
    }

    public var branchID: BranchID
    public var clientID: ClientID?
    public var appointmentIDs: [AppointmentID]
    public var lines: [CustomLine]
    public var discount: Discount?
    public var tips: [Tip]
    public var payments: [PaymentRequest]
    /// Products sold (stock taken at the sale's branch).
    public var products: [ProductSaleLine]
    /// Gift cards sold.
    public var giftCards: [GiftCardSaleLine]
    /// A coupon's code (not together with a manual discount).
    public var coupon: String?
    /// Sell below zero stock (needs `MoneyRights.mayOverrideStock`).
    public var stockOverride: Bool

    public init(branchID: BranchID, clientID: ClientID? = nil, appointmentIDs: [AppointmentID] = [], lines: [CustomLine] = [],
                discount: Discount? = nil, tips: [Tip] = [], payments: [PaymentRequest] = [], products: [ProductSaleLine] = [],
                giftCards: [GiftCardSaleLine] = [], coupon: String? = nil, stockOverride: Bool = false) {
        self.products = products
        self.giftCards = giftCards
        self.coupon = coupon
        self.stockOverride = stockOverride
        self.branchID = branchID
        self.clientID = clientID
        self.appointmentIDs = appointmentIDs
        self.lines = lines
        self.discount = discount
        self.tips = tips
        self.payments = payments
    }
}

/// A payment the desk takes.
public struct PaymentRequest: Sendable {
    public var method: PaymentMethod
    public var amountMinor: Int64
    public var tenderedMinor: Int64?
    public var cardLast4: String
    public var approvalCode: String
    public var reference: String
    /// For `gift_card`: the card's code as typed or scanned (or put `card:<id>` in `reference`).
    public var giftCardCode: String

    public init(method: PaymentMethod, amountMinor: Int64, tenderedMinor: Int64? = nil, cardLast4: String = "", approvalCode: String = "", reference: String = "",
                giftCardCode: String = "") {
        self.giftCardCode = giftCardCode
        self.method = method
        self.amountMinor = amountMinor
        self.tenderedMinor = tenderedMinor
        self.cardLast4 = cardLast4
        self.approvalCode = approvalCode
        self.reference = reference
    }
}

/// What the person at the desk may do without a manager, and the manager who approved more, if any.
public struct MoneyRights: Sendable {
    public var mayDiscount: Bool
    public var mayRefund: Bool
    /// May take unverified payments above the caps.
    public var mayExceedCaps: Bool
    /// May sell or send a product below zero stock (`stock.override`).
    public var mayOverrideStock: Bool
    /// The approver's name when a manager typed their PIN for this request.
    public var approvedBy: String

    public init(mayDiscount: Bool, mayRefund: Bool, mayExceedCaps: Bool, mayOverrideStock: Bool = false, approvedBy: String = "") {
        self.mayDiscount = mayDiscount
        self.mayRefund = mayRefund
        self.mayExceedCaps = mayExceedCaps
        self.mayOverrideStock = mayOverrideStock
        self.approvedBy = approvedBy
    }

    /// Everything (the box's own tools, tests).
    public static let all = MoneyRights(mayDiscount: true, mayRefund: true, mayExceedCaps: true, mayOverrideStock: true)

    /// What a role may do by itself.
    public static func of(_ role: Role) -> MoneyRights {
        let manager = role == .owner || role == .manager
        return MoneyRights(mayDiscount: manager, mayRefund: manager, mayExceedCaps: manager, mayOverrideStock: manager)
    }
}

/// A drawer session: a till of one box, from opening with a float to its Z report.
public struct DrawerSession: Hashable, Sendable, Codable {
    public var id: DrawerSessionID
    public var site: String
    public var till: String
    public var branchID: BranchID
    public var currency: String
    public var floatMinor: Int64
    public var openedAt: Instant
    public var openedBy: String
}

/// The figures of a drawer session: an X report (any time) or a Z report (at close).
public struct DrawerReport: Hashable, Sendable, Codable {
    public struct MethodTotal: Hashable, Sendable, Codable {
        public var method: PaymentMethod
        public var paymentsMinor: Int64
        public var refundsMinor: Int64
        public var count: Int
        public var netMinor: Int64 { paymentsMinor - refundsMinor }
    }
    public struct TipTotal: Hashable, Sendable, Codable {
        public var staffID: StaffID
        public var name: String
        public var amountMinor: Int64
    }
    public struct Counted: Hashable, Sendable, Codable {
        /// Count per denomination (minor units), largest first.
        public var denominations: [Denomination]
        public var totalMinor: Int64
    }
    public struct Denomination: Hashable, Sendable, Codable {
        public var valueMinor: Int64
        public var count: Int
    }
    public struct Unfiscalised: Hashable, Sendable, Codable {
        public var saleID: SaleID
        public var number: String
        public var totalMinor: Int64
    }

    /// Set for a Z report.
    public var id: ZReportID?
    /// The Z report's number on its box (1, 2, … without gaps).
    public var number: Int?
    public var session: DrawerSession
    public var closedAt: Instant?
    public var closedBy: String
    public var floatMinor: Int64
    public var cashSalesMinor: Int64
    public var cashRefundsMinor: Int64
    public var paidInMinor: Int64
    public var paidOutMinor: Int64
    public var expectedCashMinor: Int64
    public var counted: Counted?
    public var varianceMinor: Int64?
    public var methods: [MethodTotal]
    public var refundsMinor: Int64
    public var discountsMinor: Int64
    public var taxMinor: Int64
    public var tips: [TipTotal]
    public var salesCount: Int
    public var visitsCount: Int
    public var voidsCount: Int
    public var unverified: [PaymentID]
    public var unfiscalised: [Unfiscalised]
    /// The session was open across the branch's midnight.
    public var overMidnight: Bool
    public var note: String
}

/// Something a merge made that no single box would have accepted; listed until a person resolves it.
public struct MoneyAnomaly: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case doubleRefund = "double_refund"
        case doubleCheckout = "double_checkout"
        case overpaid
        case contradictoryVerification = "contradictory_verification"
    }
    public struct Resolution: Hashable, Sendable, Codable {
        public var at: Instant
        public var by: String
        public var note: String
    }
    /// Derived from the kind and the subject's id: the same on every box.
    public var id: AnomalyID
    public var kind: Kind
    public var saleIDs: [SaleID]
    public var appointmentID: AppointmentID?
    public var paymentIDs: [PaymentID]
    /// How much is in excess (refunded or paid beyond what was due).
    public var amount: Money
    public var resolution: Resolution?
}

/// Notes and coins of a currency, largest first, in minor units.
public enum Denominations {
    public static func of(_ currency: String) -> [Int64] {
        switch currency {
        case "KZT": [2_000_000, 1_000_000, 500_000, 200_000, 100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100]
        case "GBP": [5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1]
        case "BDT": [100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100]
        case "EUR": [50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1]
        case "USD": [10_000, 5_000, 2_000, 1_000, 500, 100, 25, 10, 5, 1]
        case "RUB": [500_000, 200_000, 100_000, 50_000, 20_000, 10_000, 5_000, 1_000, 500, 200, 100]
        default: [10_000, 5_000, 2_000, 1_000, 500, 100, 50, 10, 1]
        }
    }
}
