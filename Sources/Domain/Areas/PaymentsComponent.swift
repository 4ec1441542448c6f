/// Money at the front desk: sales, the payments ledger (payments, refunds, voids), Kaspi QR
/// payments followed through a gateway, unverified payments, the cash drawer with its X and Z
/// reports, anomalies after merges, and the fiscal outbox's queue (docs/money.md).
///
/// One of the shop's per-area components (`Shop.money`): async, over the shop's one store. Every
/// write names who acts (`as: Acting`) and what they may do without a manager (`MoneyRights`).
public struct Payments: Sendable, FiscalQueue {
    let shop: Shop

    func actor(_ acting: Acting, _ rights: MoneyRights) -> Shop.MoneyActor {
        Shop.MoneyActor(name: acting.name, deviceID: acting.deviceID?.rawValue ?? "", rights: rights)
    }

    // MARK: Settings

    public func settings(branch: BranchID) async throws -> MoneySettings { try await shop.perform { try $0.moneySettings(branch: branch) } }

    public func saveSettings(_ settings: MoneySettings, as acting: Acting) async throws -> MoneySettings {
        try await shop.perform(as: acting) { try $0.saveMoneySettings(settings) }
    }

    /// What this box holds unverified now.
    public func unverifiedOutstanding() async throws -> Int64 { try await shop.perform { shop in try shop.read { try shop.unverifiedOutstanding(in: $0) } } }

    // MARK: Sales and payments

    /// Checkout: a sale from appointments and lines, with the payments taken at once, in one transaction.
    /// - Parameter fiscalRequired: this box hands its sales to a fiscal register.
    public func checkout(_ request: CheckoutRequest, rights: MoneyRights, fiscalRequired: Bool, as acting: Acting) async throws -> Sale {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) { try $0.checkout(request, actor: actor, fiscalRequired: fiscalRequired) }
    }

    public func takePayment(_ sale: SaleID, _ request: PaymentRequest, rights: MoneyRights, as acting: Acting) async throws -> Payment {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) { try $0.takePayment(sale, request, actor: actor) }
    }

    /// Refunds part or all of a payment. `refundID` is the refund's ledger id (derive it from the
    /// request's idempotency key so that a retried refund is the same refund).
    public func refund(_ payment: PaymentID, amountMinor: Int64, reason: String, refundID: PaymentID, online: Bool, rights: MoneyRights,
                       as acting: Acting) async throws -> Payment {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) {
            try $0.refund(payment, amountMinor: amountMinor, reason: reason, refundID: refundID, online: online, actor: actor)
        }
    }

    public func voidPayment(_ payment: PaymentID, reason: String, rights: MoneyRights, as acting: Acting) async throws -> Payment {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) { try $0.voidPayment(payment, reason: reason, actor: actor) }
    }

    public func voidSale(_ sale: SaleID, reason: String, rights: MoneyRights, as acting: Acting) async throws -> Sale {
        let actor = actor(acting, rights)
        return try await shop.perform(as: acting) { try $0.voidSale(sale, reason: reason, actor: actor) }
    }

    public func cancelQR(_ payment: PaymentID, as acting: Acting) async throws -> Payment {
        let actor = actor(acting, .all)
        return try await shop.perform(as: acting) { try $0.cancelQR(payment, actor: actor) }
    }

    public func verify(_ payment: PaymentID, verified: Bool, note: String, as acting: Acting) async throws -> Payment {
        let actor = actor(acting, .all)
        return try await shop.perform(as: acting) { try $0.verify(payment, verified: verified, note: note, actor: actor) }
    }

    public func sale(_ id: SaleID) async throws -> Sale { try await shop.perform { try $0.sale(id) } }

    public func sale(receiptToken: String) async throws -> Sale { try await shop.perform { try $0.sale(receiptToken: receiptToken) } }

    /// A branch's sales made from `from` until `until`, newest first.
    public func sales(branch: BranchID, from: Instant, until: Instant, limit: Int = 200) async throws -> [Sale] {
        try await shop.perform {
            try $0.sales(where: "branch_id = ? AND created_at >= ? AND created_at < ?", [.text(branch.rawValue), .instant(from), .instant(until)], limit: limit)
        }
    }

    public func sales(client: ClientID, limit: Int = 200) async throws -> [Sale] {
        try await shop.perform { try $0.sales(where: "client_id = ?", [.text(client.rawValue)], limit: limit) }
    }

    public func sales(appointment: AppointmentID) async throws -> [Sale] {
        try await shop.perform { try $0.sales(where: "id IN (SELECT sale_id FROM local_sale_appointments WHERE appointment_id = ?)", [.text(appointment.rawValue)]) }
    }

    /// Sales of this box still waiting for (or refused by) the fiscal register.
    public func unfiscalisedSales(limit: Int = 200) async throws -> [Sale] {
        try await shop.perform {
            try $0.sales(where: "fiscal_required = 1 AND id NOT IN (SELECT document_id FROM fiscal_receipts) AND id NOT IN (SELECT sale_id FROM sale_voids)", [], limit: limit)
        }
    }

    public func payment(_ id: PaymentID) async throws -> Payment { try await shop.perform { try $0.payment(id) } }

    public func unverifiedPayments(branch: BranchID?) async throws -> [(payment: Payment, saleNumber: String)] {
        try await shop.perform { try $0.unverifiedPayments(branch: branch) }
    }

    public func anomalies() async throws -> [MoneyAnomaly] { try await shop.perform { try $0.moneyAnomalies() } }

    public func resolveAnomaly(_ id: AnomalyID, note: String, as acting: Acting) async throws -> MoneyAnomaly {
        let actor = actor(acting, .all)
        return try await shop.perform(as: acting) { try $0.resolveAnomaly(id, note: note, actor: actor) }
    }

    // MARK: Drawer

    public func drawerSession() async throws -> DrawerSession? { try await shop.perform { try $0.drawerSession() } }

    public func openDrawer(branch: BranchID, floatMinor: Int64, as acting: Acting) async throws -> DrawerSession {
        let actor = actor(acting, .all)
        return try await shop.perform(as: acting) { try $0.openDrawer(branch: branch, floatMinor: floatMinor, actor: actor) }
    }

    public func drawerMovement(paidIn: Bool, amountMinor: Int64, reason: String, as acting: Acting) async throws -> DrawerReport {
        let actor = actor(acting, .all)
        return try await shop.perform(as: acting) { try $0.drawerMovement(paidIn: paidIn, amountMinor: amountMinor, reason: reason, actor: actor) }
    }

    public func xReport() async throws -> DrawerReport { try await shop.perform { try $0.xReport() } }

    public func closeDrawer(counted: [Int64: Int], note: String, as acting: Acting) async throws -> DrawerReport {
        let actor = actor(acting, .all)
        return try await shop.perform(as: acting) { try $0.closeDrawer(counted: counted, note: note, actor: actor) }
    }

    public func zReports(branch: BranchID?, site: String?, limit: Int = 100) async throws -> [DrawerReport] {
        try await shop.perform { try $0.zReports(branch: branch, site: site, limit: limit) }
    }

    public func zReport(_ id: ZReportID) async throws -> DrawerReport { try await shop.perform { try $0.zReport(id) } }

    // MARK: Fiscal queue (FiscalQueue)

    public func dueFiscalDocuments(now: Instant, limit: Int) async throws -> [FiscalDocument] {
        try await shop.perform { try $0.dueFiscalDocuments(now: now, limit: limit) }
    }

    public func recordFiscalReceipt(_ receipt: FiscalReceipt, for documentID: String) async throws {
        try await shop.perform { try $0.recordFiscalReceipt(receipt, for: documentID) }
    }

    public func recordFiscalFailure(_ error: FiscalRegisterError, for documentID: String, retryAt: Instant) async throws {
        try await shop.perform { try $0.recordFiscalFailure(error, for: documentID, retryAt: retryAt) }
    }
}
