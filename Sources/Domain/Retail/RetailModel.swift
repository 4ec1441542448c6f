import Replication

public enum ProductTag: Sendable {}
public enum StockMovementTag: Sendable {}
public enum TransferTag: Sendable {}
public enum StocktakeTag: Sendable {}
public enum CouponTag: Sendable {}
public enum GiftCardTag: Sendable {}
public enum EscrowEntryTag: Sendable {}
public enum EscrowRequestTag: Sendable {}

public typealias ProductID = Identifier<ProductTag>
public typealias StockMovementID = Identifier<StockMovementTag>
public typealias TransferID = Identifier<TransferTag>
public typealias StocktakeID = Identifier<StocktakeTag>
public typealias CouponID = Identifier<CouponTag>
public typealias GiftCardID = Identifier<GiftCardTag>
public typealias EscrowEntryID = Identifier<EscrowEntryTag>
public typealias EscrowRequestID = Identifier<EscrowRequestTag>

// MARK: Products and stock (docs/retail.md)

/// A product the business sells. Settings, not facts: last writer wins.
public struct Product: Hashable, Sendable, Codable {
    public var id: ProductID
    /// Names by language (`ru`, `kk`, `en`); at least one.
    public var names: [String: String]
    public var sku: String
    /// EAN-13 or UPC-A (12 digits) with a valid check digit, or empty.
    public var barcode: String
    public var category: String
    /// The business's price in minor units of the branch's currency.
    public var priceMinor: Int64
    /// A tax rate id of the branch's money settings; empty: the branch's default rate; `none`: no tax.
    public var taxRate: String
    /// What the shop pays for one, if known.
    public var costMinor: Int64?
    /// Below this level a branch's stock is low (per-branch settings override it); nil: no threshold.
    public var lowStockThreshold: Int?
    public var active: Bool
    /// Per-branch settings (price overrides, thresholds), by branch.
    public var branches: [BranchID: ProductBranchSettings]

    public init(id: ProductID, names: [String: String], sku: String = "", barcode: String = "", category: String = "", priceMinor: Int64,
                taxRate: String = "", costMinor: Int64? = nil, lowStockThreshold: Int? = nil, active: Bool = true,
                branches: [BranchID: ProductBranchSettings] = [:]) {
        self.id = id
        self.names = names
        self.sku = sku
        self.barcode = barcode
        self.category = category
        self.priceMinor = priceMinor
        self.taxRate = taxRate
        self.costMinor = costMinor
        self.lowStockThreshold = lowStockThreshold
        self.active = active
        self.branches = branches
    }

    public func name(in language: String) -> String {
        names[language] ?? names["en"] ?? names.sorted { $0.key < $1.key }.first?.value ?? ""
    }

    /// The price at a branch: its override, else the business's price.
    public func price(at branch: BranchID) -> Int64 { branches[branch]?.priceMinor ?? priceMinor }

    /// The low-stock threshold at a branch: its own, else the product's.
    public func threshold(at branch: BranchID) -> Int? { branches[branch]?.lowStockThreshold ?? lowStockThreshold }
}

/// A product's settings at one branch (last writer wins).
public struct ProductBranchSettings: Hashable, Sendable, Codable {
    public var priceMinor: Int64?
    public var lowStockThreshold: Int?

    public init(priceMinor: Int64? = nil, lowStockThreshold: Int? = nil) {
        self.priceMinor = priceMinor
        self.lowStockThreshold = lowStockThreshold
    }
}

/// What changed a branch's stock. Append-only; levels are their sums.
public struct StockMovement: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        /// Goods received from a supplier (with the unit cost).
        case received
        /// Sold in a sale (negative).
        case sold
        /// Brought back against a sale (positive when restocked).
        case returned
        /// Damaged, expired, used in a service, or a count correction (signed).
        case adjusted
        /// Sent to another branch (negative at the sender).
        case transferOut = "transfer_out"
        /// Booked in from a transfer (positive at the receiver).
        case transferIn = "transfer_in"
    }
    public enum Reason: String, Hashable, Sendable, Codable, CaseIterable {
        case none = ""
        case damaged
        case expired
        case usedInService = "used_in_service"
        case countCorrection = "count_correction"
        /// A sale's product lines put back when the sale is voided.
        case saleVoided = "sale_voided"
        case other
    }
    public var id: StockMovementID
    public var productID: ProductID
    public var branchID: BranchID
    public var kind: Kind
    /// Signed: positive adds to the level, negative takes from it.
    public var quantity: Int
    public var reason: Reason
    public var supplier: String
    public var unitCostMinor: Int64?
    public var saleID: SaleID?
    public var appointmentID: AppointmentID?
    public var transferID: TransferID?
    public var stocktakeID: StocktakeID?
    /// Sold or sent below zero with the `stock.override` right (or a manager's approval).
    public var override: Bool
    public var note: String
    /// The box (site id, hex) that wrote it.
    public var site: String
    public var at: Instant
    public var by: String
}

/// A product's level at a branch, derived from its movements.
public struct StockLevel: Hashable, Sendable, Codable {
    public var productID: ProductID
    public var branchID: BranchID
    public var quantity: Int
    /// Sent to this branch and not yet booked in.
    public var inTransitIn: Int
    /// Sent from this branch and not yet booked in at the other.
    public var inTransitOut: Int
    public var threshold: Int?
    public var low: Bool { threshold.map { quantity <= $0 } ?? false }

    public init(productID: ProductID, branchID: BranchID, quantity: Int, inTransitIn: Int = 0, inTransitOut: Int = 0, threshold: Int? = nil) {
        self.productID = productID
        self.branchID = branchID
        self.quantity = quantity
        self.inTransitIn = inTransitIn
        self.inTransitOut = inTransitOut
        self.threshold = threshold
    }
}

/// A quantity of a product (transfer lines, receipts, returns, stocktake counts).
public struct ProductQuantity: Hashable, Sendable, Codable {
    public var productID: ProductID
    public var quantity: Int
    /// For a receipt from a supplier: the unit cost.
    public var unitCostMinor: Int64?

    public init(productID: ProductID, quantity: Int, unitCostMinor: Int64? = nil) {
        self.productID = productID
        self.quantity = quantity
        self.unitCostMinor = unitCostMinor
    }
}

/// Goods sent from one branch to another: out at the sender when written, in at the receiver when
/// it books them in (the two movements pair by the transfer's id).
public struct StockTransfer: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable { case inTransit = "in_transit", received }
    public var id: TransferID
    public var fromBranch: BranchID
    public var toBranch: BranchID
    public var lines: [ProductQuantity]
    public var note: String
    public var state: State
    public var createdAt: Instant
    public var createdBy: String
    public var receivedAt: Instant?
    public var receivedBy: String
}

/// A count of a branch's stock: each counted quantity against the level then, and the
/// adjustments it wrote.
public struct Stocktake: Hashable, Sendable, Codable {
    public struct Count: Hashable, Sendable, Codable {
        public var productID: ProductID
        public var counted: Int
        public var expected: Int
        public var difference: Int { counted - expected }
    }
    public var id: StocktakeID
    public var branchID: BranchID
    public var counts: [Count]
    public var note: String
    public var at: Instant
    public var by: String
}

/// A level below zero (sold or sent with an override, or two boxes apart that together took more
/// than there was). The id is the same on every box: derived from the product and branch.
public struct StockFlag: Hashable, Sendable, Codable {
    public var id: String
    public var productID: ProductID
    public var branchID: BranchID
    public var quantity: Int
    /// Movements written with an override that took this product below zero here.
    public var overrides: [StockMovementID]
    /// True when the level is below zero by more than the overrides explain: a merge of boxes apart.
    public var fromMerge: Bool
}

// MARK: Escrow (docs/retail.md, "Limits that hold while boxes are apart")

/// What an escrow account counts.
public enum EscrowAccount: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A coupon's uses.
    case coupon(CouponID)
    /// A gift card's balance in minor units.
    case giftCard(GiftCardID)
    /// A client's loyalty points.
    case points(ClientID)

    /// `coupon:<id>`, `card:<id>`, `points:<client id>`: the `account` column and the API's form.
    public var description: String {
        switch self {
        case .coupon(let id): "coupon:\(id.rawValue)"
        case .giftCard(let id): "card:\(id.rawValue)"
        case .points(let id): "points:\(id.rawValue)"
        }
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "coupon": guard let id = CouponID(parts[1]) else { return nil }; self = .coupon(id)
        case "card": guard let id = GiftCardID(parts[1]) else { return nil }; self = .giftCard(id)
        case "points": guard let id = ClientID(parts[1]) else { return nil }; self = .points(id)
        default: return nil
        }
    }
}

/// One row of the escrow ledger. A positive amount credits `holder`; a negative amount debits it and
/// is valid only when written by the holder itself; a transfer debits `holder` and credits `counterpart`.
public struct EscrowEntry: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Capacity created: a coupon's allotment, a gift card's issue.
        case grant
        /// Points earned by a sale.
        case earn
        /// A redemption (negative).
        case spend
        /// A redemption given back (a voided sale, a refunded payment).
        case restore
        /// Allotment moved from `holder` to `counterpart`.
        case transfer
        /// Expired at the holder (negative).
        case expire
    }
    public var id: EscrowEntryID
    public var account: EscrowAccount
    public var kind: Kind
    /// The box (site id, hex) whose allotment the amount is.
    public var holder: String
    public var amount: Int64
    /// For a transfer: the box credited.
    public var counterpart: String
    public var requestID: EscrowRequestID?
    /// For a restore: the entry (a spend) or the refund payment it gives back; for an earn: the sale.
    /// Only the first (by time, then id) of several restores of one spend counts.
    public var reverses: String
    public var saleID: SaleID?
    public var paymentID: PaymentID?
    public var clientID: ClientID?
    public var note: String
    /// The box that wrote it.
    public var site: String
    public var at: Instant
    public var by: String
}

/// What one box holds of an account.
public struct EscrowHolding: Hashable, Sendable, Codable {
    /// The box's site id (hex).
    public var site: String
    /// The box's name and branch when this replica knows its certificate, else empty.
    public var boxName: String
    public var branchID: BranchID?
    /// What the box may spend now (expiry applied).
    public var amount: Int64
}

/// An account's balance as this box can prove it.
public struct EscrowBalance: Hashable, Sendable, Codable {
    public var account: EscrowAccount
    /// What this box may spend now.
    public var here: Int64
    /// What other boxes hold, as far as this replica knows.
    public var elsewhere: [EscrowHolding]
    /// here + Σ elsewhere.
    public var total: Int64
    /// Moves asked for and not yet answered.
    public var openRequests: [EscrowRequest]
}

/// A request that `fromSite` move some of an account's allotment to `toSite`. Only `fromSite` can
/// execute it (it writes the transfer); it does so automatically when it sees the request and holds
/// enough (or moves what it holds).
public struct EscrowRequest: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable { case open, done, declined }
    public var id: EscrowRequestID
    public var account: EscrowAccount
    public var fromSite: String
    public var toSite: String
    public var amount: Int64
    public var reason: String
    public var state: State
    /// What was moved (≤ amount) once done.
    public var movedAmount: Int64
    public var at: Instant
    public var by: String
}

// MARK: Coupons, loyalty, gift cards

public struct Coupon: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable { case percent, amount }
    public var id: CouponID
    /// What the client types or scans: 3–32 of A–Z, 0–9 and `-`, stored upper-case.
    public var code: String
    public var name: String
    public var kind: Kind
    /// Percent (1–100) or an amount in minor units.
    public var value: Int64
    /// For an amount: its currency.
    public var currency: String
    /// What it applies to; all empty: the whole sale (not tips).
    public var services: [OfferingID]
    public var products: [ProductID]
    public var categories: [String]
    public var validFrom: Instant?
    public var validUntil: Instant?
    /// The matching lines must come to at least this.
    public var minSpendMinor: Int64
    /// Uses per client (0: no limit). Kept by each box from what it knows; an excess after a merge is flagged.
    public var perClientLimit: Int
    /// The total use limit: Σ of its grants (0: unlimited). Never exceeded across boxes.
    public var totalLimit: Int64
    public var active: Bool
    /// Uses this replica knows of.
    public var usesKnown: Int64
    public var createdAt: Instant
    public var createdBy: String
}

/// A business's loyalty rules (last writer wins).
public struct LoyaltyRules: Hashable, Sendable, Codable {
    public var enabled: Bool
    /// `earnPoints` points for every `earnPerMinor` paid (by money, not by points or gift cards).
    public var earnPoints: Int64
    public var earnPerMinor: Int64
    /// Points for every paid sale with a visit.
    public var visitPoints: Int64
    /// Extra points for a service.
    public var serviceBonus: [OfferingID: Int64]
    /// What one point pays, in minor units.
    public var pointValueMinor: Int64
    /// Points a client holds expire this many days after their last earning this box knows of (0: never).
    public var expiryDays: Int
    /// At most this percent of a sale may be paid with points (1–100).
    public var maxRedeemPercent: Int

    public init(enabled: Bool = false, earnPoints: Int64 = 0, earnPerMinor: Int64 = 0, visitPoints: Int64 = 0, serviceBonus: [OfferingID: Int64] = [:],
                pointValueMinor: Int64 = 0, expiryDays: Int = 0, maxRedeemPercent: Int = 100) {
        self.enabled = enabled
        self.earnPoints = earnPoints
        self.earnPerMinor = earnPerMinor
        self.visitPoints = visitPoints
        self.serviceBonus = serviceBonus
        self.pointValueMinor = pointValueMinor
        self.expiryDays = expiryDays
        self.maxRedeemPercent = maxRedeemPercent
    }
}

public struct GiftCard: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable {
        /// Its sale is not paid yet.
        case unpaid
        case active
        case expired
        /// Its sale was voided.
        case voided
    }
    public var id: GiftCardID
    /// The bearer code: 16 of A–Z and 2–9 without look-alikes, shown in groups of four.
    public var code: String
    public var initialMinor: Int64
    public var currency: String
    public var expiresAt: Instant?
    public var saleID: SaleID?
    public var branchID: BranchID
    public var clientID: ClientID?
    public var state: State
    public var balance: EscrowBalance
    public var createdAt: Instant
    public var createdBy: String
}

/// A client's loyalty: points as this box can prove them, and their gift cards.
public struct ClientLoyalty: Hashable, Sendable, Codable {
    public var clientID: ClientID
    public var points: EscrowBalance
    /// When the points this box holds expire (from the last earning it knows of), if they do.
    public var pointsExpireAt: Instant?
    public var ledger: [EscrowEntry]
    public var giftCards: [GiftCard]
}

/// A coupon or escrow finding after a merge, the same on every box.
public struct RetailFlag: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// A client used a coupon more often than its per-client limit (boxes apart).
        case couponClientLimit = "coupon_client_limit"
        /// An escrow debit written by a box that is not its holder, or a holder overdrawn: never by this
        /// software; listed so that a forged or broken replica is seen.
        case escrowInvalid = "escrow_invalid"
    }
    public var id: String
    public var kind: Kind
    public var account: EscrowAccount
    public var detail: String
}

// MARK: Checkout additions

/// A product sold in checkout.
public struct ProductSaleLine: Sendable, Hashable {
    public var productID: ProductID
    public var quantity: Int

    public init(productID: ProductID, quantity: Int) {
        self.productID = productID
        self.quantity = quantity
    }
}

/// A gift card sold in checkout.
public struct GiftCardSaleLine: Sendable, Hashable {
    public var amountMinor: Int64
    /// A pre-printed card's code; empty: the box makes one.
    public var code: String
    public var expiresAt: Instant?
    /// Who the card is for (on their profile), if anyone.
    public var clientID: ClientID?

    public init(amountMinor: Int64, code: String = "", expiresAt: Instant? = nil, clientID: ClientID? = nil) {
        self.amountMinor = amountMinor
        self.code = code
        self.expiresAt = expiresAt
        self.clientID = clientID
    }
}

/// A return of a sale's products.
public struct SaleReturn: Sendable, Hashable, Codable {
    public var saleID: SaleID
    public var lines: [ProductQuantity]
    /// Whether the goods go back on the shelf (else they are written off as damaged).
    public var restock: Bool
    public var reason: String
    /// What the returned lines cost the client (their share of the sale's line totals): what to refund.
    public var refundableMinor: Int64
    public var movements: [StockMovementID]
}
