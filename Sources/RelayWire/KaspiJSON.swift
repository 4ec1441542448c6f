// The bodies of the relay's Kaspi gateway endpoints (docs/relay-protocol.md §14, docs/kaspi.md).
// Amounts are integers in minor units with an ISO 4217 currency (KZT only); instants are Unix
// milliseconds. Nothing here names the client: the box never sends who pays.

extension RelayJSON {
    /// `POST /v1/businesses/{business}/kaspi/qr`.
    public struct KaspiQRRequest: Codable, Sendable {
        /// The box's payment id (Kaspi's `ExternalId`): 1…64 of `A-Za-z0-9-_.`.
        public var paymentId: String
        public var amountMinor: Int64
        public var currency: String
        public init(paymentId: String, amountMinor: Int64, currency: String) {
            self.paymentId = paymentId
            self.amountMinor = amountMinor
            self.currency = currency
        }
    }

    /// The QR of a payment: 201 when this request made it, 200 when an earlier one did.
    public struct KaspiQRReply: Codable, Sendable {
        public var paymentId: String
        public var qrPaymentId: String
        public var qrToken: String
        public var expiresAt: Int64
        public var pollIntervalSeconds: Int
        public var scanTimeoutSeconds: Int
        public var confirmationTimeoutSeconds: Int
        public var created: Bool
        public init(paymentId: String, qrPaymentId: String, qrToken: String, expiresAt: Int64, pollIntervalSeconds: Int, scanTimeoutSeconds: Int,
                    confirmationTimeoutSeconds: Int, created: Bool) {
            self.paymentId = paymentId
            self.qrPaymentId = qrPaymentId
            self.qrToken = qrToken
            self.expiresAt = expiresAt
            self.pollIntervalSeconds = pollIntervalSeconds
            self.scanTimeoutSeconds = scanTimeoutSeconds
            self.confirmationTimeoutSeconds = confirmationTimeoutSeconds
            self.created = created
        }
    }

    /// `GET …/kaspi/payments/{qr_payment_id}/status`: `status` is `created`, `waiting`,
    /// `processed` or `failed` (Kaspi's `QrTokenCreated`, `Wait`, `Processed`, `Error`, as
    /// `kaspi_status`); `reason` for `failed`: `expired` or `error`.
    public struct KaspiStatusReply: Codable, Sendable {
        public var qrPaymentId: String
        public var status: String
        public var kaspiStatus: String
        public var reason: String?
        public var expiresAt: Int64
        public init(qrPaymentId: String, status: String, kaspiStatus: String, reason: String?, expiresAt: Int64) {
            self.qrPaymentId = qrPaymentId
            self.status = status
            self.kaspiStatus = kaspiStatus
            self.reason = reason
            self.expiresAt = expiresAt
        }
    }

    /// `GET …/kaspi/payments/{qr_payment_id}/refundable`.
    public struct KaspiRefundableReply: Codable, Sendable {
        public var qrPaymentId: String
        public var totalMinor: Int64
        public var availableMinor: Int64
        public var currency: String
        public init(qrPaymentId: String, totalMinor: Int64, availableMinor: Int64, currency: String) {
            self.qrPaymentId = qrPaymentId
            self.totalMinor = totalMinor
            self.availableMinor = availableMinor
            self.currency = currency
        }
    }

    /// `POST …/kaspi/payments/{qr_payment_id}/refunds`.
    public struct KaspiRefundRequest: Codable, Sendable {
        /// The box's refund id: 1…64 of `A-Za-z0-9-_.`.
        public var refundId: String
        public var amountMinor: Int64
        public var currency: String
        public init(refundId: String, amountMinor: Int64, currency: String) {
            self.refundId = refundId
            self.amountMinor = amountMinor
            self.currency = currency
        }
    }

    /// The refund: 201 when this request made it, 200 when an earlier one with the same id did.
    public struct KaspiRefundReply: Codable, Sendable {
        public var refundId: String
        public var qrPaymentId: String
        /// Kaspi's `ReturnOperationId` (empty when Kaspi's answer to the attempt was lost).
        public var reference: String
        public var created: Bool
        public init(refundId: String, qrPaymentId: String, reference: String, created: Bool) {
            self.refundId = refundId
            self.qrPaymentId = qrPaymentId
            self.reference = reference
            self.created = created
        }
    }
}
