import Replication

/// A business's Kaspi access as the relay stores it (docs/kaspi.md §6): the whole `KaspiAccess`
/// sealed with the relay's Kaspi key, and the device token Kaspi gave for it, sealed too. Only
/// the scheme and the time are in clear.
public struct StoredKaspiAccess: Hashable, Sendable {
    public var scheme: String
    public var sealed: [UInt8]
    /// The sealed `DeviceToken` of `device/register`; nil until the device is registered.
    public var sealedDeviceToken: [UInt8]?
    public var updatedAt: Int64

    public init(scheme: String, sealed: [UInt8], sealedDeviceToken: [UInt8]?, updatedAt: Int64) {
        self.scheme = scheme
        self.sealed = sealed
        self.sealedDeviceToken = sealedDeviceToken
        self.updatedAt = updatedAt
    }
}

/// One Kaspi operation the relay did (or is doing) for a business: a QR made for our payment id
/// (`kind` `payment`) or a refund made for our refund id (`refund`). It is how the relay answers
/// a retried request with the first answer instead of asking Kaspi again.
///
/// `record` is the JSON of what the relay keeps about it (`KaspiPaymentRecord`,
/// `KaspiRefundRecord`): ids, amounts, statuses, timestamps — no client name or phone, which the
/// box never sends.
public struct KaspiOperation: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case payment
        case refund
    }

    public enum State: String, Hashable, Sendable {
        /// A relay process is asking Kaspi now (since `claimedAt`).
        case pending
        /// Kaspi's answer to the last attempt is not known (a refund that timed out).
        case unknown
        /// Kaspi answered; `record` holds the answer.
        case done
    }

    public var kind: Kind
    /// Our id: the payment id or the refund id.
    public var id: String
    /// Kaspi's `QrPaymentId` (empty while a payment is pending).
    public var qrPaymentID: String
    public var state: State
    public var claimedAt: Int64
    public var record: [UInt8]

    public init(kind: Kind, id: String, qrPaymentID: String, state: State, claimedAt: Int64, record: [UInt8]) {
        self.kind = kind
        self.id = id
        self.qrPaymentID = qrPaymentID
        self.state = state
        self.claimedAt = claimedAt
        self.record = record
    }
}

/// Common SQL of both storages: the migration's columns are the same in SQLite and PostgreSQL.
enum KaspiSQL {
    static let operationColumns = "kind, id, qr_payment_id, state, claimed_at, record"
}
