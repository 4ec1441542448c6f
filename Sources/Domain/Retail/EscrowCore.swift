import Foundation
import Replication

// CONTRACT STUB (issue 18): the escrow helper replaces every body in this file.

/// `local_escrow_balances`: each (account, holder)'s balance before expiry — credits to the holder,
/// less its debits, less transfers out, plus transfers in; of several restores of one spend, only
/// the first counts — kept current in every transaction that changes `escrow_entries`.
enum EscrowLedger {
    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {}
    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {}
}

/// A coupon applied to a sale's lines: its share of discount per line.
struct CouponApplication {
    var couponID: CouponID
    var code: String
    var shares: [Int64]
}

extension Shop {
    static let escrowNotBuilt = DomainError(.invalidArgument, "not built yet")

    // MARK: Coupons
    package func saveCoupon(_ coupon: Coupon, allotments: [String: Int64], actor: MoneyActor) throws -> Coupon { throw Self.escrowNotBuilt }
    package func coupon(_ id: CouponID) throws -> Coupon { throw Self.escrowNotBuilt }
    package func coupon(code: String) throws -> Coupon { throw Self.escrowNotBuilt }
    package func coupons(includeInactive: Bool) throws -> [Coupon] { throw Self.escrowNotBuilt }

    // MARK: Loyalty and gift cards
    package func loyaltyRules() throws -> LoyaltyRules { throw Self.escrowNotBuilt }
    package func saveLoyaltyRules(_ rules: LoyaltyRules) throws -> LoyaltyRules { throw Self.escrowNotBuilt }
    package func clientLoyalty(_ client: ClientID) throws -> ClientLoyalty { throw Self.escrowNotBuilt }
    package func giftCard(_ id: GiftCardID) throws -> GiftCard { throw Self.escrowNotBuilt }
    package func giftCard(code: String) throws -> GiftCard { throw Self.escrowNotBuilt }
    package func giftCards(client: ClientID) throws -> [GiftCard] { throw Self.escrowNotBuilt }

    // MARK: Escrow
    package func escrowBalance(_ account: EscrowAccount) throws -> EscrowBalance { throw Self.escrowNotBuilt }
    package func requestEscrowMove(_ account: EscrowAccount, from: String, to: String, amount: Int64, reason: String, actor: MoneyActor) throws -> EscrowRequest { throw Self.escrowNotBuilt }
    package func fulfilEscrowRequests(actor: MoneyActor) throws -> Int { 0 }
    package func escrowRequests(openOnly: Bool, limit: Int) throws -> [EscrowRequest] { throw Self.escrowNotBuilt }
    package func retailFlags() throws -> [RetailFlag] { throw Self.escrowNotBuilt }

    // MARK: Checkout and payment hooks (called by MoneyCore inside its transactions)

    /// The sale lines of `request.giftCards` (kind `.giftCard`, `reference` the new card's id, no tax).
    func giftCardLines(_ request: CheckoutRequest, currency: String, in transaction: WriteTransaction) throws -> [SaleLine] {
        if !request.giftCards.isEmpty { throw Self.escrowNotBuilt }
        return []
    }

    /// Checks a coupon against the sale (code, window, minimum spend, what it applies to, the client's
    /// limit, this box's allotment) and spreads its discount over the matching lines.
    /// - Throws: `.couponRefused` with the reason; `.heldElsewhere` when only other boxes hold uses.
    func applyCoupon(code: String, lines: [SaleLine], clientID: ClientID?, branch: BranchID, currency: String, in transaction: WriteTransaction) throws -> CouponApplication {
        throw Self.escrowNotBuilt
    }

    /// Writes the coupon's use (a spend of one from this box's allotment).
    func recordCouponUse(_ use: CouponApplication, sale: SaleID, clientID: ClientID?, actor: MoneyActor, in transaction: WriteTransaction) throws {}

    /// Writes the gift cards the sale issues (a grant of each card's amount to this box).
    func issueGiftCards(sale: SaleID, _ cards: [GiftCardSaleLine], lines: [SaleLine], branch: BranchID, actor: MoneyActor, in transaction: WriteTransaction) throws {}

    /// For a points or gift-card payment: checks and spends this box's escrow; returns the account.
    /// - Throws: `.insufficientBalance`, `.heldElsewhere` (the message says how much other boxes hold), `.expired`.
    func escrowPayment(sale: Sale, _ request: PaymentRequest, paymentID: PaymentID, actor: MoneyActor, in transaction: WriteTransaction) throws -> EscrowAccount {
        throw Self.escrowNotBuilt
    }

    /// Earns the client's points once the sale is paid (by the loyalty rules; once per sale).
    func earnPointsIfPaid(_ sale: SaleID, actor: MoneyActor, in transaction: WriteTransaction) throws {}

    /// Gives back to the holder what a points or gift-card payment's refund or void returns.
    func restoreEscrow(refund: PaymentID, of original: Payment, amountMinor: Int64, actor: MoneyActor, in transaction: WriteTransaction) throws {}

    /// Gives back a voided sale's coupon use.
    func restoreForVoidedSale(_ sale: SaleID, actor: MoneyActor, in transaction: WriteTransaction) throws {}
}
