/// Retail, stock and loyalty (docs/retail.md): products with per-branch prices, stock per branch as
/// append-only movements (receipts, sales, returns, adjustments, transfers, stocktakes) with derived
/// levels, and the escrowed limits — coupon uses, gift-card balances, loyalty points — that hold
/// even while boxes are apart.
///
/// One of the shop's per-area components (`Shop.retail`): async, over the shop's one store. Every
/// write names who acts (`as: Acting`); writes that may need a manager take `MoneyRights`.
public struct Retail: Sendable {
    let shop: Shop

    func actor(_ acting: Acting, _ rights: MoneyRights = .all) -> Shop.MoneyActor {
        Shop.MoneyActor(name: acting.name, deviceID: acting.deviceID?.rawValue ?? "", rights: rights)
    }

    // MARK: Products

    /// Creates or updates a product (its per-branch settings are saved with `saveBranchSettings`).
    /// - Throws: `DomainError(.invalidArgument)` for a bad barcode (check digit), name, price or tax rate.
    public func save(_ product: Product, as acting: Acting) async throws -> Product {
        try await shop.perform(as: acting) { try $0.saveProduct(product) }
    }

    /// Sets (or clears, with nil fields) a product's price and low-stock threshold at one branch.
    public func saveBranchSettings(_ settings: ProductBranchSettings, product: ProductID, branch: BranchID, as acting: Acting) async throws -> Product {
        try await shop.perform(as: acting) { try $0.saveProductBranch(settings, product: product, branch: branch) }
    }

    public func product(_ id: ProductID) async throws -> Product { try await shop.perform { try $0.product(id) } }

    /// The product with this barcode (check digit validated first).
    /// - Throws: `.invalidArgument` for a malformed barcode, `.notFound` when none has it.
    public func product(barcode: String) async throws -> Product { try await shop.perform { try $0.product(barcode: barcode) } }

    /// Products by name, SKU or barcode text (`query` empty: all), category, and whether inactive ones are included.
    public func products(query: String = "", category: String = "", includeInactive: Bool = false, limit: Int = 500) async throws -> [Product] {
        try await shop.perform { try $0.products(query: query, category: category, includeInactive: includeInactive, limit: limit) }
    }

    // MARK: Stock

    /// Levels at a branch (every product that has a movement or a threshold there, or only `products`).
    public func levels(branch: BranchID, products: [ProductID] = []) async throws -> [StockLevel] {
        try await shop.perform { try $0.stockLevels(branch: branch, products: products) }
    }

    /// Products at or below their threshold at a branch.
    public func lowStock(branch: BranchID) async throws -> [StockLevel] { try await shop.perform { try $0.lowStock(branch: branch) } }

    /// A branch's movements, newest first (optionally of one product).
    public func movements(branch: BranchID, product: ProductID? = nil, limit: Int = 200) async throws -> [StockMovement] {
        try await shop.perform { try $0.stockMovements(branch: branch, product: product, limit: limit) }
    }

    /// Goods received from a supplier.
    public func receive(branch: BranchID, supplier: String, lines: [ProductQuantity], note: String, as acting: Acting) async throws -> [StockMovement] {
        let actor = actor(acting)
        return try await shop.perform(as: acting) { try $0.receiveStock(branch: branch, supplier: supplier, lines: lines, note: note, actor: actor) }
    }

    /// An adjustment (damaged, expired, used in a service — optionally against a visit — or a count correction).
    public func adjust(branch: BranchID, product: ProductID, quantity: Int, reason: StockMovement.Reason, note: String, appointment: AppointmentID? = nil,
                       rights: MoneyRights, as acting: Acting) async throws -> StockMovement {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) {
            try $0.adjustStock(branch: branch, product: product, quantity: quantity, reason: reason, note: note, appointment: appointment, actor: actor)
        }
    }

    /// Sends goods to another branch: out here now, in transit until the receiving branch books them in.
    public func transfer(from: BranchID, to: BranchID, lines: [ProductQuantity], note: String, override: Bool, rights: MoneyRights,
                         as acting: Acting) async throws -> StockTransfer {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) { try $0.transferStock(from: from, to: to, lines: lines, note: note, override: override, actor: actor) }
    }

    /// Books a transfer in at its receiving branch (once: a second receipt changes nothing).
    public func receiveTransfer(_ id: TransferID, as acting: Acting) async throws -> StockTransfer {
        let actor = actor(acting)
        return try await shop.perform(as: acting) { try $0.receiveTransfer(id, actor: actor) }
    }

    public func transfer(_ id: TransferID) async throws -> StockTransfer { try await shop.perform { try $0.stockTransfer(id) } }

    /// Transfers from or to a branch, newest first; `inTransitOnly` for those not yet received.
    public func transfers(branch: BranchID, inTransitOnly: Bool = false, limit: Int = 200) async throws -> [StockTransfer] {
        try await shop.perform { try $0.stockTransfers(branch: branch, inTransitOnly: inTransitOnly, limit: limit) }
    }

    /// A stocktake: counted quantities against the levels now; each difference becomes a count-correction adjustment.
    public func stocktake(branch: BranchID, counts: [ProductQuantity], note: String, as acting: Acting) async throws -> Stocktake {
        let actor = actor(acting)
        return try await shop.perform(as: acting) { try $0.stocktake(branch: branch, counts: counts, note: note, actor: actor) }
    }

    public func stocktakes(branch: BranchID, limit: Int = 50) async throws -> [Stocktake] { try await shop.perform { try $0.stocktakes(branch: branch, limit: limit) } }

    /// Levels below zero, each with the same id on every box.
    public func stockFlags(branch: BranchID? = nil) async throws -> [StockFlag] { try await shop.perform { try $0.stockFlags(branch: branch) } }

    /// Products brought back against a sale (at most what it sold less what came back already).
    public func returnProducts(sale: SaleID, lines: [ProductQuantity], restock: Bool, reason: String, rights: MoneyRights, as acting: Acting) async throws -> SaleReturn {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) { try $0.returnProducts(sale: sale, lines: lines, restock: restock, reason: reason, actor: actor) }
    }

    // MARK: Coupons

    /// Creates or updates a coupon. A new coupon's `totalLimit` is split into allotments: `allotments` by
    /// box (site id hex), the rest to this box. Raising the limit later grants the difference to this box;
    /// it cannot be lowered below what is granted.
    public func save(_ coupon: Coupon, allotments: [String: Int64] = [:], as acting: Acting) async throws -> Coupon {
        let actor = actor(acting)
        return try await shop.perform(as: acting) { try $0.saveCoupon(coupon, allotments: allotments, actor: actor) }
    }

    public func coupon(_ id: CouponID) async throws -> Coupon { try await shop.perform { try $0.coupon(id) } }

    public func coupon(code: String) async throws -> Coupon { try await shop.perform { try $0.coupon(code: code) } }

    public func coupons(includeInactive: Bool = true) async throws -> [Coupon] { try await shop.perform { try $0.coupons(includeInactive: includeInactive) } }

    // MARK: Loyalty and gift cards

    public func loyaltyRules() async throws -> LoyaltyRules { try await shop.perform { try $0.loyaltyRules() } }

    public func saveLoyaltyRules(_ rules: LoyaltyRules, as acting: Acting) async throws -> LoyaltyRules {
        try await shop.perform(as: acting) { try $0.saveLoyaltyRules(rules) }
    }

    /// A client's points as this box can prove them, their ledger and gift cards.
    public func loyalty(client: ClientID) async throws -> ClientLoyalty { try await shop.perform { try $0.clientLoyalty(client) } }

    public func giftCard(_ id: GiftCardID) async throws -> GiftCard { try await shop.perform { try $0.giftCard(id) } }

    /// A card by its code (spaces and dashes ignored, any case).
    public func giftCard(code: String) async throws -> GiftCard { try await shop.perform { try $0.giftCard(code: code) } }

    public func giftCards(client: ClientID) async throws -> [GiftCard] { try await shop.perform { try $0.giftCards(client: client) } }

    // MARK: Escrow

    public func balance(_ account: EscrowAccount) async throws -> EscrowBalance { try await shop.perform { try $0.escrowBalance(account) } }

    /// Asks `from` to move `amount` of an account to `to`. When `from` is this box it is done at once
    /// (what it holds, at most `amount`); otherwise the request replicates and `from` does it when it sees it.
    public func requestMove(_ account: EscrowAccount, from: String, to: String, amount: Int64, reason: String, as acting: Acting) async throws -> EscrowRequest {
        let actor = actor(acting)
        return try await shop.perform(as: acting) { try $0.requestEscrowMove(account, from: from, to: to, amount: amount, reason: reason, actor: actor) }
    }

    /// Does the open requests addressed to this box (the escrow service calls it when the change feed moves).
    /// - Returns: how many it answered.
    @discardableResult
    public func fulfilRequests(as acting: Acting) async throws -> Int {
        let actor = actor(acting)
        return try await shop.perform(as: acting) { try $0.fulfilEscrowRequests(actor: actor) }
    }

    /// Requests this box knows of (open ones first), newest first.
    public func requests(openOnly: Bool = false, limit: Int = 200) async throws -> [EscrowRequest] {
        try await shop.perform { try $0.escrowRequests(openOnly: openOnly, limit: limit) }
    }

    /// Coupon and escrow findings after merges.
    public func flags() async throws -> [RetailFlag] { try await shop.perform { try $0.retailFlags() } }
}

extension Retail {
    /// The automatic rule for coupons: asks for half of the largest other holding of each coupon whose
    /// allotment this box has used up (the escrow service calls it when the change feed moves).
    /// - Returns: how many requests it wrote.
    @discardableResult
    public func rebalanceCoupons(as acting: Acting) async throws -> Int {
        let actor = actor(acting)
        return try await shop.perform(as: acting) { try $0.requestCouponRebalance(actor: actor) }
    }
}
