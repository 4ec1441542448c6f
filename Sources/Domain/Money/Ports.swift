// The ports the money side of the domain defines for the outside services it needs (BRIEF:
// "one adapter per provider behind a small port the domain defines"). Adapters live in their own
// targets and are faked in tests by loopback servers that speak the provider's real protocol.

// MARK: QR payments (Kaspi QR, through the relay's gateway)

/// A provider of dynamic QR payments reached from the box. The production adapter is the relay's
/// Kaspi gateway (`RelayUplink.RelayKaspiGateway`); an aggregator can be a second adapter.
///
/// Every call may fail with `QRGatewayError`: `.unreachable` means the answer is not known (the
/// relay or the provider did not answer; ask again later, the state at the provider is
/// unchanged or unknown), `.refused` is a definite refusal (nothing happened at the provider).
public protocol QRPaymentGateway: Sendable {
    /// Asks for a dynamic QR of `amount`, with our payment id as the provider's external id.
    /// Asking again with the same `paymentID` answers the QR made the first time, never a second one.
    func createQR(paymentID: String, amount: Money) async throws -> QRInvoice
    /// Where the payment of a QR stands now.
    func status(providerPaymentID: String) async throws -> QRPaymentStatus
    /// How much of a processed payment can still be refunded (asked before every refund).
    func refundable(providerPaymentID: String) async throws -> QRRefundable
    /// Refunds `amount` of a processed payment. `refundID` is ours (the refund's ledger row id):
    /// asking again with the same `refundID` never refunds twice.
    func refund(providerPaymentID: String, amount: Money, refundID: String) async throws -> QRRefundResult
}

/// A QR the provider made for one payment.
public struct QRInvoice: Hashable, Sendable, Codable {
    /// The provider's id of the payment (Kaspi's `QrPaymentId`).
    public var providerPaymentID: String
    /// The text the tablet draws as a QR code (Kaspi's `QrToken`).
    public var qrToken: String
    /// When the QR stops being payable (Kaspi's `ExpireDate`).
    public var expiresAt: Instant
    /// How often to ask for the status (Kaspi's `StatusPollingInterval`), in seconds.
    public var pollIntervalSeconds: Int
    /// How long the client has to scan (Kaspi's `QrCodeScanWaitTimeout`), in seconds.
    public var scanTimeoutSeconds: Int
    /// How long the client has to confirm after scanning (Kaspi's `PaymentConfirmationTimeout`), in seconds.
    public var confirmationTimeoutSeconds: Int

    public init(providerPaymentID: String, qrToken: String, expiresAt: Instant, pollIntervalSeconds: Int,
                scanTimeoutSeconds: Int, confirmationTimeoutSeconds: Int) {
        self.providerPaymentID = providerPaymentID
        self.qrToken = qrToken
        self.expiresAt = expiresAt
        self.pollIntervalSeconds = pollIntervalSeconds
        self.scanTimeoutSeconds = scanTimeoutSeconds
        self.confirmationTimeoutSeconds = confirmationTimeoutSeconds
    }
}

/// The provider's state of a QR payment (Kaspi: `QrTokenCreated → Wait → Processed | Error`).
public enum QRPaymentStatus: Hashable, Sendable, Codable {
    /// The QR exists; nobody has scanned it yet (`QrTokenCreated`).
    case created
    /// Scanned; the client is confirming (`Wait`).
    case waiting
    /// Paid (`Processed`): final.
    case processed
    /// Failed or expired at the provider (`Error`, or past its expiry unpaid): final.
    case failed(reason: String)
}

/// A processed payment's refundable amount (Kaspi's `payment/details`).
public struct QRRefundable: Hashable, Sendable, Codable {
    public var total: Money
    public var available: Money

    public init(total: Money, available: Money) {
        self.total = total
        self.available = available
    }
}

/// A refund the provider accepted.
public struct QRRefundResult: Hashable, Sendable, Codable {
    /// The provider's reference of the refund, if it gives one.
    public var providerReference: String

    public init(providerReference: String) { self.providerReference = providerReference }
}

/// Why a gateway call did not give an answer.
public struct QRGatewayError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// No gateway is configured for this business (or the relay is not set up).
        case notConfigured = "not_configured"
        /// No definite answer (relay or provider unreachable, timed out, 5xx): ask again later.
        case unreachable
        /// A definite refusal by the provider (e.g. refund above the available amount); `code` is its code.
        case refused
    }

    public var kind: Kind
    /// The provider's error code, when it gave one (Kaspi's `StatusCode`, e.g. `-99000005`).
    public var code: Int?
    public var message: String

    public init(_ kind: Kind, code: Int? = nil, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "\(kind.rawValue)\(code.map { " \($0)" } ?? ""): \(message)" }
}

// MARK: Fiscal registers (Webkassa and others)

/// An external fiscal register (an online cash register reporting to a fiscal data operator).
/// The box is not a fiscal register: it hands each sale and refund to one and keeps what it answers.
public protocol FiscalRegister: Sendable {
    /// The adapter's name as receipts and logs show it, e.g. `webkassa`.
    var name: String { get }
    /// Registers one document. `document.id` is sent as the register's external check number, so
    /// registering the same document again never makes a second receipt: the register answers the
    /// first one (or the adapter fetches it).
    /// - Throws: `FiscalRegisterError`.
    func register(_ document: FiscalDocument) async throws -> FiscalReceipt
}

/// One sale or refund as a fiscal register needs it. Amounts are in minor units of `currency`.
public struct FiscalDocument: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case sale
        case refund
    }

    public struct Line: Hashable, Sendable, Codable {
        public var name: String
        /// Whole units.
        public var quantity: Int
        public var unitPriceMinor: Int64
        /// Discount on the line, already taken off `totalMinor`.
        public var discountMinor: Int64
        /// What the client pays for the line, tax included.
        public var totalMinor: Int64
        /// The line's tax rate in basis points (1200 = 12 %), nil: no tax.
        public var taxRateBasisPoints: Int?
        public var taxMinor: Int64

        public init(name: String, quantity: Int, unitPriceMinor: Int64, discountMinor: Int64, totalMinor: Int64,
                    taxRateBasisPoints: Int?, taxMinor: Int64) {
            self.name = name
            self.quantity = quantity
            self.unitPriceMinor = unitPriceMinor
            self.discountMinor = discountMinor
            self.totalMinor = totalMinor
            self.taxRateBasisPoints = taxRateBasisPoints
            self.taxMinor = taxMinor
        }
    }

    public struct Payment: Hashable, Sendable, Codable {
        public enum Method: String, Hashable, Sendable, Codable {
            case cash
            case card
            /// Kaspi QR, bank transfer and other non-cash electronic payments.
            case electronic
        }
        public var method: Method
        public var amountMinor: Int64

        public init(method: Method, amountMinor: Int64) {
            self.method = method
            self.amountMinor = amountMinor
        }
    }

    /// Our id of the document (the sale's id, or the refund's ledger row id): the external check number.
    public var id: String
    public var kind: Kind
    public var currency: String
    public var lines: [Line]
    public var payments: [Payment]
    /// Σ lines' totals = Σ payments.
    public var totalMinor: Int64
    public var createdAt: Instant

    public init(id: String, kind: Kind, currency: String, lines: [Line], payments: [Payment], totalMinor: Int64, createdAt: Instant) {
        self.id = id
        self.kind = kind
        self.currency = currency
        self.lines = lines
        self.payments = payments
        self.totalMinor = totalMinor
        self.createdAt = createdAt
    }
}

/// What a fiscal register answered for a document.
public struct FiscalReceipt: Hashable, Sendable, Codable {
    /// The register's receipt (check) number.
    public var checkNumber: String
    /// The fiscal data operator's verification URL of the receipt.
    public var url: String
    /// The register's shift number, if it has shifts.
    public var shift: String
    /// The register's name (`FiscalRegister.name`).
    public var register: String

    public init(checkNumber: String, url: String, shift: String, register: String) {
        self.checkNumber = checkNumber
        self.url = url
        self.shift = shift
        self.register = register
    }
}

/// Why a register did not give a receipt.
public struct FiscalRegisterError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Try again later (unreachable, timed out, 5xx, an expired session that re-authorising did not fix).
        case retryable
        /// The register refused the document itself; a person must look (wrong data, register blocked).
        case permanent
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// Where a fiscal outbox takes its documents from and records the answers: the money component
/// implements it over the replica (`Shop.money`).
public protocol FiscalQueue: Sendable {
    /// Documents waiting for a receipt whose next attempt is due at `now`, oldest first (the
    /// order in which they were made); at most `limit`.
    func dueFiscalDocuments(now: Instant, limit: Int) async throws -> [FiscalDocument]
    /// Records the register's receipt for a document (it leaves the queue).
    func recordFiscalReceipt(_ receipt: FiscalReceipt, for documentID: String) async throws
    /// Records a failed attempt; the document is due again at `retryAt`.
    func recordFiscalFailure(_ error: FiscalRegisterError, for documentID: String, retryAt: Instant) async throws
}
