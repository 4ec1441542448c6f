import Foundation
import Replication

// CONTRACT STUB (issue 18): the stock helper replaces every body in this file.

/// `local_stock_levels`: each (product, branch)'s level, the sum of its movements (a transfer's
/// booking-in counted once), kept current in every transaction that changes `stock_movements` and
/// rebuildable from scratch.
enum StockLedger {
    static func update(_ changes: ChangedRows, in transaction: some QueryContext & LocalWriter) throws {}
    static func rebuild(in transaction: some QueryContext & LocalWriter) throws {}
}

extension Shop {
    static let stockNotBuilt = DomainError(.invalidArgument, "not built yet")

    // MARK: Products
    package func saveProduct(_ product: Product) throws -> Product { throw Self.stockNotBuilt }
    package func saveProductBranch(_ settings: ProductBranchSettings, product: ProductID, branch: BranchID) throws -> Product { throw Self.stockNotBuilt }
    package func product(_ id: ProductID) throws -> Product { throw Self.stockNotBuilt }
    package func product(barcode: String) throws -> Product { throw Self.stockNotBuilt }
    package func products(query: String, category: String, includeInactive: Bool, limit: Int) throws -> [Product] { throw Self.stockNotBuilt }

    // MARK: Stock
    package func stockLevels(branch: BranchID, products: [ProductID]) throws -> [StockLevel] { throw Self.stockNotBuilt }
    package func lowStock(branch: BranchID) throws -> [StockLevel] { throw Self.stockNotBuilt }
    package func stockMovements(branch: BranchID, product: ProductID?, limit: Int) throws -> [StockMovement] { throw Self.stockNotBuilt }
    package func receiveStock(branch: BranchID, supplier: String, lines: [ProductQuantity], note: String, actor: MoneyActor) throws -> [StockMovement] { throw Self.stockNotBuilt }
    package func adjustStock(branch: BranchID, product: ProductID, quantity: Int, reason: StockMovement.Reason, note: String, appointment: AppointmentID?,
                             actor: MoneyActor) throws -> StockMovement { throw Self.stockNotBuilt }
    package func transferStock(from: BranchID, to: BranchID, lines: [ProductQuantity], note: String, override: Bool, actor: MoneyActor) throws -> StockTransfer { throw Self.stockNotBuilt }
    package func receiveTransfer(_ id: TransferID, actor: MoneyActor) throws -> StockTransfer { throw Self.stockNotBuilt }
    package func stockTransfer(_ id: TransferID) throws -> StockTransfer { throw Self.stockNotBuilt }
    package func stockTransfers(branch: BranchID, inTransitOnly: Bool, limit: Int) throws -> [StockTransfer] { throw Self.stockNotBuilt }
    package func stocktake(branch: BranchID, counts: [ProductQuantity], note: String, actor: MoneyActor) throws -> Stocktake { throw Self.stockNotBuilt }
    package func stocktakes(branch: BranchID, limit: Int) throws -> [Stocktake] { throw Self.stockNotBuilt }
    package func stockFlags(branch: BranchID?) throws -> [StockFlag] { throw Self.stockNotBuilt }
    package func returnProducts(sale: SaleID, lines: [ProductQuantity], restock: Bool, reason: String, actor: MoneyActor) throws -> SaleReturn { throw Self.stockNotBuilt }

    // MARK: Checkout hooks (called by MoneyCore inside the checkout's transaction)

    /// The sale lines of `request.products` (kind `.product`, the branch's price, the product's tax rate).
    func productLines(_ request: CheckoutRequest, settings: MoneySettings, in transaction: WriteTransaction) throws -> [SaleLine] {
        if !request.products.isEmpty { throw Self.stockNotBuilt }
        return []
    }

    /// Writes a `sold` movement per product line; refuses to go below zero at the branch unless `override` and the right.
    func recordSaleStock(sale: SaleID, branch: BranchID, lines: [SaleLine], override: Bool, actor: MoneyActor, in transaction: WriteTransaction) throws {}

    /// Puts a voided sale's products back (movements `returned`, reason `sale_voided`), less what was returned already.
    func restockVoidedSale(_ sale: SaleID, actor: MoneyActor, in transaction: WriteTransaction) throws {}
}
