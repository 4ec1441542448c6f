import Foundation
import KaspiMerchant
import Logging
import NIOSSL
import OutboundHTTP
import Replication

/// The relay's key for the businesses' Kaspi secrets at rest (docs/kaspi.md §6): 32 bytes, read
/// from a file holding them as 64 hex digits (`edgenode-relay kaspi new-key` writes one).
/// Sealing is libsodium's XChaCha20-Poly1305 with a random nonce, authenticating the business id
/// and what the bytes are, so a sealed value cannot be moved to another business or field.
public struct KaspiSealingKey: Sendable {
    let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Sodium.aeadKeyLength else { throw RelayConfigurationError("kaspi_key_file: the key must be 32 bytes") }
        self.bytes = bytes
    }

    /// A new random key as the file holds it (64 hex digits and a newline).
    public static func generateFileContents() -> String { Sodium.randomBytes(Sodium.aeadKeyLength).hexString + "\n" }

    /// Reads the key file.
    /// - Throws: `RelayConfigurationError` naming the file and what is wrong with it.
    public static func load(file: String) throws -> KaspiSealingKey {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RelayConfigurationError("kaspi_key_file: cannot read \(file)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count == 64, isLowerHex(text.lowercased()), let bytes = [UInt8](hex: text.lowercased()) else {
            throw RelayConfigurationError("kaspi_key_file: \(file) must hold 64 hex digits (edgenode-relay kaspi new-key writes one)")
        }
        return try KaspiSealingKey(bytes: bytes)
    }

    func seal(_ plaintext: [UInt8], purpose: String, business: BusinessID) -> [UInt8] {
        let nonce = Sodium.randomBytes(Sodium.aeadNonceLength)
        let sealed = Sodium.aeadEncrypt(plaintext[...], additionalData: Self.context(purpose, business)[...], nonce: nonce, key: bytes)!
        return nonce + sealed
    }

    func open(_ sealed: [UInt8], purpose: String, business: BusinessID) throws -> [UInt8] {
        guard sealed.count > Sodium.aeadNonceLength,
              let plain = Sodium.aeadDecrypt(sealed[Sodium.aeadNonceLength...], additionalData: Self.context(purpose, business)[...],
                                             nonce: Array(sealed.prefix(Sodium.aeadNonceLength)), key: bytes) else {
            throw RelayError(.kaspiNotConfigured, "the stored Kaspi access does not open with this relay's Kaspi key; set it again (edgenode-relay kaspi set)")
        }
        return plain
    }

    static func context(_ purpose: String, _ business: BusinessID) -> [UInt8] { Array("edgenode-relay kaspi \(purpose) v1 ".utf8) + business.bytes }
}

/// What the relay keeps about a QR it made for a payment (the `record` of a `payment` operation).
struct KaspiPaymentRecord: Codable, Hashable, Sendable {
    var amountMinor: Int64
    var currency: String
    var qrToken: String = ""
    var expiresAt: Int64 = 0
    var pollIntervalSeconds: Int = 0
    var scanTimeoutSeconds: Int = 0
    var confirmationTimeoutSeconds: Int = 0
    /// Kaspi's last status: `QrTokenCreated`, `Wait`, `Processed`, `Error`.
    var status: String = ""
    var createdAt: Int64 = 0
    var statusAt: Int64 = 0
}

/// What the relay keeps about a refund (the `record` of a `refund` operation).
struct KaspiRefundRecord: Codable, Hashable, Sendable {
    var amountMinor: Int64
    var currency: String
    /// Kaspi's `AvailableReturnAmount` just before the attempt, to tell afterwards whether an
    /// attempt whose answer was lost went through.
    var availableBefore: Int64?
    var reference: String = ""
    var doneAt: Int64 = 0
}

/// A QR as the relay answers it to a box.
public struct KaspiQRAnswer: Hashable, Sendable {
    public var paymentID: String
    public var qrPaymentID: String
    public var qrToken: String
    public var expiresAt: Int64
    public var pollIntervalSeconds: Int
    public var scanTimeoutSeconds: Int
    public var confirmationTimeoutSeconds: Int
    /// False when the QR was made by an earlier request with the same payment id.
    public var created: Bool
}

/// What the relay shows of a business's Kaspi access: nothing secret.
public struct KaspiAccessSummary: Hashable, Sendable, CustomStringConvertible {
    public var scheme: String
    public var baseURL: String
    public var tradePointID: Int64
    public var deviceID: String
    public var organizationBIN: String
    public var credential: String
    public var deviceRegistered: Bool
    public var updatedAt: Int64

    public var description: String {
        """
        scheme:        \(scheme)
        base URL:      \(baseURL)
        trade point:   \(tradePointID)
        device id:     \(deviceID)
        BIN:           \(organizationBIN)
        credential:    \(credential) (stored encrypted)
        device token:  \(deviceRegistered ? "registered" : "not registered yet")
        updated at:    \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(updatedAt) / 1000)))
        """
    }
}

/// How the relay reaches Kaspi: its sealing key, the trust roots for Kaspi's server, the timeout.
public struct KaspiGatewaySettings: Sendable {
    /// The key for the businesses' Kaspi secrets; nil: the gateway is off (`kaspi_not_configured`).
    public var sealingKey: KaspiSealingKey?
    /// Certificates Kaspi's server must chain to; nil: the system's roots.
    public var trustRoots: [NIOSSLCertificate]?
    /// How long one call to Kaspi may take before it counts as unreachable.
    public var timeout: Duration = .seconds(15)

    public init(sealingKey: KaspiSealingKey? = nil, trustRoots: [NIOSSLCertificate]? = nil, timeout: Duration = .seconds(15)) {
        self.sealingKey = sealingKey
        self.trustRoots = trustRoots
        self.timeout = timeout
    }

    /// A claim on an operation older than this is taken over by the next request: the attempt
    /// that held it has ended one way or the other by then.
    var staleClaim: Int64 { Int64(timeout.components.seconds) * 1000 * 2 + 5000 }
}

/// The relay as the businesses' Kaspi gateway (docs/kaspi.md): keeps each business's access
/// sealed, registers its device once, makes a QR once per (business, payment id), follows its
/// status, checks the refundable amount before every refund and refunds once per (business,
/// refund id). It logs ids, amounts and Kaspi's codes — never the access's secrets.
public final class KaspiGateway<Storage: RelayStorage>: Sendable {
    let storage: Storage
    let settings: KaspiGatewaySettings
    let http: any OutboundHTTP
    let clock: RelayClock
    let logger: Logger

    public init(storage: Storage, settings: KaspiGatewaySettings, http: any OutboundHTTP, clock: RelayClock = .system, logger: Logger) {
        self.storage = storage
        self.settings = settings
        self.http = http
        self.clock = clock
        self.logger = logger
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }

    private func key() throws -> KaspiSealingKey {
        guard let key = settings.sealingKey else {
            throw RelayError(.kaspiNotConfigured, "this relay is not a Kaspi gateway (no kaspi_key_file)")
        }
        return key
    }

    // MARK: Access (the operator's command line)

    /// Stores a business's access, sealed; the device is registered again at the next payment.
    /// - Throws: `KaspiError` (`.invalidAccess`) when it is incomplete, `RelayError` without a key.
    public func setAccess(_ access: KaspiAccess, business: BusinessID) async throws {
        try access.validate()
        let key = try key()
        let sealed = key.seal(Array(try Self.encoder.encode(access)), purpose: "access", business: business)
        try await storage.storeKaspiAccess(StoredKaspiAccess(scheme: access.scheme.rawValue, sealed: sealed, sealedDeviceToken: nil, updatedAt: clock.now()),
                                           business: business)
        logger.notice("kaspi access stored", metadata: ["business": "\(business)", "kaspi.scheme": "\(access.scheme.rawValue)"])
    }

    /// What may be shown of a business's access; nil when none is stored.
    public func accessSummary(business: BusinessID) async throws -> KaspiAccessSummary? {
        guard let stored = try await storage.kaspiAccess(of: business) else { return nil }
        let access = try await self.access(stored, business: business)
        return KaspiAccessSummary(scheme: access.scheme.rawValue, baseURL: access.baseURL, tradePointID: access.tradePointID, deviceID: access.deviceID,
                                  organizationBIN: access.organizationBIN, credential: access.scheme == .r1 ? "API key" : "client certificate and key",
                                  deviceRegistered: stored.sealedDeviceToken != nil, updatedAt: stored.updatedAt)
    }

    private func access(_ stored: StoredKaspiAccess, business: BusinessID) async throws -> KaspiAccess {
        let plain = try key().open(stored.sealed, purpose: "access", business: business)
        do { return try JSONDecoder().decode(KaspiAccess.self, from: Data(plain)) } catch {
            throw RelayError(.kaspiNotConfigured, "the stored Kaspi access does not decode; set it again")
        }
    }

    /// The business's client and device token (registering the device when it has none).
    private func connection(_ business: BusinessID, fresh: Bool = false) async throws -> (KaspiMerchantClient, String) {
        let key = try key()
        guard let stored = try await storage.kaspiAccess(of: business) else {
            throw RelayError(.kaspiNotConfigured, "no Kaspi access is stored for this business (edgenode-relay kaspi set)")
        }
        let client = try KaspiMerchantClient(access: try await access(stored, business: business), http: http, trustRoots: settings.trustRoots,
                                             timeout: settings.timeout)
        if !fresh, let sealed = stored.sealedDeviceToken {
            return (client, String(decoding: try key.open(sealed, purpose: "device-token", business: business), as: UTF8.self))
        }
        let token = try await kaspi { try await client.registerDevice() }
        try await storage.storeKaspiDeviceToken(key.seal(Array(token.utf8), purpose: "device-token", business: business), business: business)
        logger.notice("kaspi device registered", metadata: ["business": "\(business)"])
        return (client, token)
    }

    /// Runs a call to Kaspi, its errors as the relay's.
    private func kaspi<T>(_ call: () async throws -> T) async throws -> T {
        do { return try await call() } catch let error as KaspiError {
            throw Self.relayError(error)
        }
    }

    static func relayError(_ error: KaspiError) -> RelayError {
        switch error.kind {
        case .refused:
            var relayError = RelayError(.kaspiRefused, "Kaspi refused: \(error.message)")
            relayError.kaspiCode = error.code
            return relayError
        case .unreachable: return RelayError(.kaspiUnavailable, "Kaspi did not answer definitely: \(error.message)")
        case .invalidAccess: return RelayError(.kaspiNotConfigured, "the business's Kaspi access is unusable: \(error.message)")
        case .invalidAmount: return RelayError(.malformedBody, error.message)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ operation: KaspiOperation) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(operation.record)) } catch {
            throw RelayError(.storageUnavailable, "a stored Kaspi \(operation.kind.rawValue) does not decode")
        }
    }

    private func metadata(_ business: BusinessID, _ items: [String: String]) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["business": "\(business)"]
        for (key, value) in items { metadata[key] = "\(value)" }
        return metadata
    }

    // MARK: Payments

    /// A QR for our payment `paymentID` of `amountMinor` (KZT only): made once; asking again answers the same QR.
    /// - Throws: `RelayError`: `kaspiNotConfigured`, `kaspiRefused` (with Kaspi's code),
    ///   `kaspiUnavailable` (nothing is known to have been made; ask again), `kaspiInProgress`
    ///   (another request for the same payment is at Kaspi now), `kaspiConflict` (the payment id
    ///   was used with another amount), `malformedBody` (not KZT, not positive).
    public func createQR(business: BusinessID, paymentID: String, amountMinor: Int64, currency: String) async throws -> KaspiQRAnswer {
        do { _ = try KaspiAmount.text(minor: amountMinor, currency: currency) } catch let error as KaspiError { throw Self.relayError(error) }
        _ = try key()
        let now = clock.now()
        let fresh = KaspiPaymentRecord(amountMinor: amountMinor, currency: currency)
        let claim = try await storage.claimKaspiOperation(
            KaspiOperation(kind: .payment, id: paymentID, qrPaymentID: "", state: .pending, claimedAt: now, record: Array(try Self.encoder.encode(fresh))),
            staleBefore: now - settings.staleClaim, business: business)
        let stored = try decode(KaspiPaymentRecord.self, claim.stored)
        guard stored.amountMinor == amountMinor, stored.currency == currency else {
            if claim.claimed, claim.stored.state != .done { try await storage.deleteKaspiOperation(.payment, id: paymentID, business: business) }
            throw RelayError(.kaspiConflict, "payment \(paymentID) was asked for with another amount (\(stored.amountMinor) \(stored.currency))")
        }
        if claim.stored.state == .done { return answer(paymentID, claim.stored.qrPaymentID, stored, created: false) }
        guard claim.claimed else {
            throw RelayError(.kaspiInProgress, "a QR for payment \(paymentID) is being made now; ask again", retryAfter: 2)
        }
        do {
            var (client, token) = try await connection(business)
            var qr: KaspiQR
            do {
                qr = try await client.createQR(deviceToken: token, amountMinor: amountMinor, currency: currency, externalID: paymentID)
            } catch let error as KaspiError where error.code == -1501 {
                // Kaspi forgot the device: register it again, once.
                (client, token) = try await connection(business, fresh: true)
                qr = try await kaspi { try await client.createQR(deviceToken: token, amountMinor: amountMinor, currency: currency, externalID: paymentID) }
            } catch let error as KaspiError { throw Self.relayError(error) }
            var record = fresh
            record.qrToken = qr.qrToken
            record.expiresAt = qr.expiresAt
            record.pollIntervalSeconds = qr.pollIntervalSeconds
            record.scanTimeoutSeconds = qr.scanTimeoutSeconds
            record.confirmationTimeoutSeconds = qr.confirmationTimeoutSeconds
            record.status = "QrTokenCreated"
            record.createdAt = clock.now()
            record.statusAt = record.createdAt
            try await storage.saveKaspiOperation(KaspiOperation(kind: .payment, id: paymentID, qrPaymentID: qr.qrPaymentID, state: .done,
                                                                claimedAt: now, record: Array(try Self.encoder.encode(record))), business: business)
            logger.info("kaspi qr created", metadata: metadata(business, ["kaspi.payment": paymentID, "kaspi.qr_payment": qr.qrPaymentID,
                                                                          "kaspi.amount_minor": "\(amountMinor)"]))
            return answer(paymentID, qr.qrPaymentID, record, created: true)
        } catch {
            // Nothing was shown to anyone: a retry may make a new QR (an unknown earlier one expires unpaid).
            try? await storage.deleteKaspiOperation(.payment, id: paymentID, business: business)
            if let error = error as? RelayError {
                logger.info("kaspi qr not created", metadata: metadata(business, ["kaspi.payment": paymentID, "error": "\(error)"]))
            }
            throw error
        }
    }

    private func answer(_ paymentID: String, _ qrPaymentID: String, _ record: KaspiPaymentRecord, created: Bool) -> KaspiQRAnswer {
        KaspiQRAnswer(paymentID: paymentID, qrPaymentID: qrPaymentID, qrToken: record.qrToken, expiresAt: record.expiresAt,
                      pollIntervalSeconds: record.pollIntervalSeconds, scanTimeoutSeconds: record.scanTimeoutSeconds,
                      confirmationTimeoutSeconds: record.confirmationTimeoutSeconds, created: created)
    }

    private func payment(_ qrPaymentID: String, business: BusinessID) async throws -> (KaspiOperation, KaspiPaymentRecord) {
        guard let operation = try await storage.kaspiPayment(qrPaymentID: qrPaymentID, business: business) else {
            throw RelayError(.notFound, "this business has no Kaspi payment \(qrPaymentID) at this relay")
        }
        return (operation, try decode(KaspiPaymentRecord.self, operation))
    }

    /// Kaspi's status of a payment (`QrTokenCreated`, `Wait`, `Processed`, `Error`) and its expiry;
    /// a final status is answered from the relay's record without asking Kaspi again.
    public func status(business: BusinessID, qrPaymentID: String) async throws -> (status: String, expiresAt: Int64) {
        _ = try key()
        var (operation, record) = try await payment(qrPaymentID, business: business)
        if record.status == "Processed" || record.status == "Error" { return (record.status, record.expiresAt) }
        let (client, _) = try await connection(business)
        let status = try await kaspi { try await client.status(qrPaymentID: qrPaymentID) }
        if status != record.status {
            record.status = status
            record.statusAt = clock.now()
            operation.record = Array(try Self.encoder.encode(record))
            try await storage.saveKaspiOperation(operation, business: business)
            logger.info("kaspi payment status", metadata: metadata(business, ["kaspi.qr_payment": qrPaymentID, "kaspi.status": status]))
        }
        return (status, record.expiresAt)
    }

    /// The payment's total and refundable amounts (Kaspi's `payment/details`), in minor units of its currency.
    public func refundable(business: BusinessID, qrPaymentID: String) async throws -> (total: Int64, available: Int64, currency: String) {
        _ = try key()
        let (_, record) = try await payment(qrPaymentID, business: business)
        let (client, token) = try await connection(business)
        let details = try await kaspi { try await client.details(qrPaymentID: qrPaymentID, deviceToken: token) }
        return (details.totalMinor, details.availableMinor, record.currency)
    }

    /// Refunds `amountMinor` of a payment once per `refundID`: asks `payment/details` first, then
    /// `payment/return` (`r3`). Asking again with the same refund id answers the first refund.
    /// - Returns: Kaspi's reference of the refund, and whether this request made it.
    public func refund(business: BusinessID, qrPaymentID: String, refundID: String, amountMinor: Int64, currency: String) async throws -> (reference: String, created: Bool) {
        do { _ = try KaspiAmount.text(minor: amountMinor, currency: currency) } catch let error as KaspiError { throw Self.relayError(error) }
        _ = try key()
        let (_, payment) = try await payment(qrPaymentID, business: business)
        guard payment.currency == currency else {
            throw RelayError(.malformedBody, "payment \(qrPaymentID) is in \(payment.currency), not \(currency)")
        }
        let now = clock.now()
        let fresh = KaspiRefundRecord(amountMinor: amountMinor, currency: currency)
        let claim = try await storage.claimKaspiOperation(
            KaspiOperation(kind: .refund, id: refundID, qrPaymentID: qrPaymentID, state: .pending, claimedAt: now, record: Array(try Self.encoder.encode(fresh))),
            staleBefore: now - settings.staleClaim, business: business)
        var record = try decode(KaspiRefundRecord.self, claim.stored)
        guard claim.stored.qrPaymentID == qrPaymentID, record.amountMinor == amountMinor else {
            throw RelayError(.kaspiConflict, "refund \(refundID) was asked for with another payment or amount")
        }
        if claim.stored.state == .done { return (record.reference, false) }
        guard claim.claimed else { throw RelayError(.kaspiInProgress, "refund \(refundID) is at Kaspi now; ask again", retryAfter: 2) }
        var operation = claim.stored
        let (client, token): (KaspiMerchantClient, String)
        let details: KaspiPaymentDetails
        do {
            (client, token) = try await connection(business)
            details = try await kaspi { try await client.details(qrPaymentID: qrPaymentID, deviceToken: token) }
        } catch {
            // Nothing was returned: a new refund may try afresh at once (an unknown one keeps its state).
            if operation.state == .pending { try? await storage.deleteKaspiOperation(.refund, id: refundID, business: business) }
            throw error
        }
        if operation.state == .unknown, let before = record.availableBefore {
            // The last attempt's answer was lost: the refundable amount says whether it went through.
            if details.availableMinor == before - amountMinor {
                return try await finish(&operation, &record, reference: "", business: business)
            }
            guard details.availableMinor == before else {
                throw RelayError(.kaspiUnavailable, "cannot tell whether the earlier attempt of refund \(refundID) went through (another refund changed the amount); ask Kaspi's cabinet")
            }
        }
        record.availableBefore = details.availableMinor
        operation.state = .unknown
        operation.record = Array(try Self.encoder.encode(record))
        try await storage.saveKaspiOperation(operation, business: business)
        do {
            let reference = try await client.refund(deviceToken: token, qrPaymentID: qrPaymentID, amountMinor: amountMinor, currency: currency)
            logger.info("kaspi refund made", metadata: metadata(business, ["kaspi.qr_payment": qrPaymentID, "kaspi.refund": refundID,
                                                                           "kaspi.amount_minor": "\(amountMinor)"]))
            return try await finish(&operation, &record, reference: reference, business: business)
        } catch let error as KaspiError where error.kind == .refused || error.kind == .invalidAccess || error.kind == .invalidAmount {
            // A definite refusal: nothing was refunded; a retry may try afresh.
            try? await storage.deleteKaspiOperation(.refund, id: refundID, business: business)
            logger.info("kaspi refund refused", metadata: metadata(business, ["kaspi.refund": refundID, "kaspi.code": "\(error.code ?? 0)"]))
            throw Self.relayError(error)
        } catch let error as KaspiError {
            // Unknown: the operation stays `unknown` with the amount available before it.
            throw Self.relayError(error)
        }
    }

    private func finish(_ operation: inout KaspiOperation, _ record: inout KaspiRefundRecord, reference: String, business: BusinessID) async throws -> (reference: String, created: Bool) {
        record.reference = reference
        record.doneAt = clock.now()
        operation.state = .done
        operation.record = Array(try Self.encoder.encode(record))
        try await storage.saveKaspiOperation(operation, business: business)
        return (reference, true)
    }
}
