import Domain

/// What an endpoint needs. Each role has a fixed set; docs/api.md lists the matrix and a test
/// walks every endpoint with every role against it.
public enum Permission: String, Hashable, Sendable, CaseIterable {
    /// No device token: health, metrics, the OpenAPI document, pairing requests, guest bookings.
    case open
    /// Any paired device: who am I, PIN sign-in.
    case device
    /// Branches, services, staff, resources, availability.
    case catalogueRead = "catalogue.read"
    case catalogueWrite = "catalogue.write"
    /// Create an appointment (a kiosk too).
    case book
    case appointmentsRead = "appointments.read"
    /// Status changes, reschedule, series, waitlist.
    case appointmentsManage = "appointments.manage"
    case clientsRead = "clients.read"
    /// Create and edit clients.
    case clientsWrite = "clients.write"
    /// Add notes to a client (staff after a visit).
    case clientsNotes = "clients.notes"
    case clientsMerge = "clients.merge"
    case conflictsRead = "conflicts.read"
    case conflictsResolve = "conflicts.resolve"
    /// Approve pairing, list and revoke devices, manage people.
    case devicesManage = "devices.manage"
    /// The box's replication status and the audit trail.
    case systemRead = "system.read"
    /// The live event stream.
    case events
    /// Sales, payments, receipts, the drawer's state, unverified payments.
    case moneyRead = "money.read"
    /// Checkout and taking payments (discounts, refunds, voids and unverified payments above a cap need more, or a manager's approval).
    case moneyTake = "money.take"
    /// Discounts without approval.
    case moneyDiscount = "money.discount"
    /// Refunds and voids without approval.
    case moneyRefund = "money.refund"
    /// Mark unverified payments verified or failed.
    case moneyVerify = "money.verify"
    /// Every box's Z reports, anomalies after merges.
    case moneyReports = "money.reports"
    /// Open and close the drawer, paid in and out, X and Z reports.
    case drawerOperate = "drawer.operate"
    /// Tax rates, VAT details, caps.
    case moneySettings = "money.settings"
    case messagesRead = "messages.read"
    case messagesSend = "messages.send"
    case messagingSettings = "messaging.settings"
    case calendarFeeds = "calendar.feeds"
    /// Products, stock levels, movements, transfers and stocktakes.
    case retailRead = "retail.read"
    /// Create and change products and their per-branch prices and thresholds.
    case productsManage = "products.manage"
    /// Receive goods, adjust stock, send and book in transfers, stocktakes.
    case stockManage = "stock.manage"
    /// Sell or send a product below zero stock (a manager's PIN approval gives it for one request).
    case stockOverride = "stock.override"
    /// Coupons, loyalty rules, moving escrow between any boxes.
    case loyaltyManage = "loyalty.manage"
    /// The owner reports (a manager: their own branch unless granted more; docs/reports.md).
    case reportsRead = "reports.read"
    /// Grant a person report access to more branches.
    case reportsGrant = "reports.grant"

    public func isGranted(to role: Role) -> Bool {
        switch self {
        case .open, .device, .catalogueRead, .book, .events:
            true
        case .appointmentsRead, .appointmentsManage, .clientsRead, .clientsNotes, .conflictsRead:
            role != .kiosk
        case .clientsWrite:
            role != .kiosk && role != .staff
        case .catalogueWrite, .clientsMerge, .conflictsResolve, .devicesManage, .systemRead, .moneyDiscount, .moneyRefund, .moneyVerify, .moneyReports:
            role == .owner || role == .manager
        case .moneyRead, .moneyTake, .messagesRead, .messagesSend, .retailRead:
            role != .kiosk
        case .messagingSettings, .calendarFeeds, .productsManage, .stockOverride, .loyaltyManage:
            role == .owner || role == .manager
        case .stockManage:
            role == .owner || role == .manager || role == .frontDesk
        case .drawerOperate:
            role == .owner || role == .manager || role == .frontDesk
        case .reportsRead:
            role == .owner || role == .manager
        case .moneySettings, .reportsGrant:
            role == .owner
        }
    }
}
