/// A domain error: a stable, extensible code plus a message for people.
/// Only the HTTP layer maps codes to status codes.
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidArgument = "invalid_argument"
            case invalidTimeZone = "invalid_time_zone"
            case invalidPhone = "invalid_phone"
            case notFound = "not_found"
            case duplicatePhone = "duplicate_phone"
            case slotTaken = "slot_taken"
            case notAvailable = "not_available"
            case illegalTransition = "illegal_transition"
            case insideCancellationCutoff = "inside_cancellation_cutoff"
            case invalidToken = "invalid_token"
            case notAuthority = "not_authority"
            case storage = "storage"
            case unauthenticated = "unauthenticated"
            case locked = "locked"
            case expired = "expired"
            case conflict = "conflict"
            case alreadyCheckedOut = "already_checked_out"
            case approvalRequired = "approval_required"
            case overpayment = "overpayment"
            case refundExceedsPaid = "refund_exceeds_paid"
            case drawerClosed = "drawer_closed"
            case aboveCap = "above_cap"
            case offlineNotAllowed = "offline_not_allowed"
            case gatewayUnavailable = "gateway_unavailable"
            case invalidTemplate = "invalid_template"
            case senderElsewhere = "sender_elsewhere"
            case telegramNotConfigured = "telegram_not_configured"
            case notResendable = "not_resendable"
            case insufficientStock = "insufficient_stock"
            case couponRefused = "coupon_refused"
            case insufficientBalance = "insufficient_balance"
            case heldElsewhere = "held_elsewhere"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A value the caller sent is malformed or out of range.
        public static let invalidArgument = Code(.invalidArgument)
        /// A time-zone name the database does not know.
        public static let invalidTimeZone = Code(.invalidTimeZone)
        /// A phone number that cannot be normalised to E.164.
        public static let invalidPhone = Code(.invalidPhone)
        /// The named record does not exist (or was deleted).
        public static let notFound = Code(.notFound)
        /// Another client already has this phone number.
        public static let duplicatePhone = Code(.duplicatePhone)
        /// The time was free when offered but is taken now.
        public static let slotTaken = Code(.slotTaken)
        /// The time is not bookable (outside working hours, notice or horizon, or not a slot).
        public static let notAvailable = Code(.notAvailable)
        /// The appointment's status does not allow this change.
        public static let illegalTransition = Code(.illegalTransition)
        /// A guest may not cancel or move this close to the start.
        public static let insideCancellationCutoff = Code(.insideCancellationCutoff)
        /// The tracking token does not name a booking.
        public static let invalidToken = Code(.invalidToken)
        /// Only the home branch's replica may confirm or reject this booking.
        public static let notAuthority = Code(.notAuthority)
        /// The replica failed to read or write.
        public static let storage = Code(.storage)
        /// A device token, session or PIN that does not identify anyone (or no longer does).
        public static let unauthenticated = Code(.unauthenticated)
        /// Too many wrong attempts: locked out until the time in the message.
        public static let locked = Code(.locked)
        /// A pairing request or session that ran out of time or was already used.
        public static let expired = Code(.expired)
        /// The request contradicts the current state in a way retrying will not fix (e.g. an idempotency key reused for another request).
        public static let conflict = Code(.conflict)

        /// The appointment is already in a sale that is not voided.
        public static let alreadyCheckedOut = Code(.alreadyCheckedOut)
        /// The person lacks a right this write needs; a manager's approval (person and PIN) would give it.
        /// The message starts with the right's name and a colon.
        public static let approvalRequired = Code(.approvalRequired)
        /// A payment above what is still due.
        public static let overpayment = Code(.overpayment)
        /// A refund above what this replica knows is left of the payment.
        public static let refundExceedsPaid = Code(.refundExceedsPaid)
        /// Cash needs an open drawer (or the drawer is not open for this).
        public static let drawerClosed = Code(.drawerClosed)
        /// An unverified payment above an offline cap, without a manager's approval.
        public static let aboveCap = Code(.aboveCap)
        /// Never offline: a refund to a card or Kaspi while the internet is down.
        public static let offlineNotAllowed = Code(.offlineNotAllowed)
        /// The payment provider's gateway is not set up or cannot be reached.
        public static let gatewayUnavailable = Code(.gatewayUnavailable)
        /// A message template that cannot be used (an unknown variable, a broken plural); the message names the field.
        public static let invalidTemplate = Code(.invalidTemplate)
        /// Another box sends the branch's messages (take over only when it is off).
        public static let senderElsewhere = Code(.senderElsewhere)
        /// The business has no Telegram bot set.
        public static let telegramNotConfigured = Code(.telegramNotConfigured)
        /// A message whose moment has passed (its appointment cancelled or over) cannot be sent again.
        public static let notResendable = Code(.notResendable)
        /// A sale or transfer would take a product below zero at its branch (the `stock.override` right, or a manager's approval, allows it).
        public static let insufficientStock = Code(.insufficientStock)
        /// A coupon that cannot be used for this sale; the message says why (unknown, expired, not yet valid,
        /// below its minimum spend, nothing it applies to, the client's limit, its limit reached).
        public static let couponRefused = Code(.couponRefused)
        /// Not enough gift-card balance or points anywhere this box knows of (or the card expired).
        public static let insufficientBalance = Code(.insufficientBalance)
        /// More is known to be held by other boxes than this box holds: it can be moved here when the boxes are connected.
        public static let heldElsewhere = Code(.heldElsewhere)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String

    /// For `.locked`: when the next attempt is allowed.
    public var retryAt: Instant?

    /// A stable word for why, where one code has several reasons a person is told apart in their own
    /// language (a coupon refusal's `total_limit`, `expired`, …; docs/retail.md, "Coupons").
    public var reason: String?

    public init(_ code: Code, _ message: String, retryAt: Instant? = nil, reason: String? = nil) {
        self.code = code
        self.message = message
        self.retryAt = retryAt
        self.reason = reason
    }

    public var description: String { "\(code): \(message)" }
}
