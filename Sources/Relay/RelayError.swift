#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The relay's clock: Unix milliseconds. Tests move it by hand.
public struct RelayClock: Sendable {
    public let now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) { self.now = now }

    public static let system = RelayClock {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// Why the relay refused a request. `kind` is the stable name in the problem's type URI
/// (`urn:edgenode:problem:<kind>`); only the HTTP layer maps it to a status code.
public struct RelayError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An extensible set of kinds (a struct over a private enum, so kinds can be added).
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        enum Value: String {
            case malformedBody = "malformed_body"
            case invalidParameter = "invalid_parameter"
            case unauthenticated
            case unknownPrincipal = "unknown_principal"
            case badSignature = "bad_signature"
            case staleRequest = "stale_request"
            case replayedRequest = "replayed_request"
            case revoked
            case notValid = "not_valid"
            case forbidden
            case notFound = "not_found"
            case invalidRegistration = "invalid_registration"
            case invalidCertificate = "invalid_certificate"
            case invalidRevocation = "invalid_revocation"
            case invalidSealedKey = "invalid_sealed_key"
            case wrongBusiness = "wrong_business"
            case invalidInvitation = "invalid_invitation"
            case invalidJoinRequest = "invalid_join_request"
            case invalidSnapshot = "invalid_snapshot"
            case invitationExpired = "invitation_expired"
            case invitationUsed = "invitation_used"
            case staleSnapshot = "stale_snapshot"
            case noSnapshot = "no_snapshot"
            case bodyTooLarge = "body_too_large"
            case batchTooLarge = "batch_too_large"
            case rateLimited = "rate_limited"
            case businessBusy = "business_busy"
            case methodNotAllowed = "method_not_allowed"
            case storageUnavailable = "storage_unavailable"
            case shuttingDown = "shutting_down"
            case kaspiNotConfigured = "kaspi_not_configured"
            case kaspiRefused = "kaspi_refused"
            case kaspiUnavailable = "kaspi_unavailable"
            case kaspiInProgress = "kaspi_in_progress"
            case kaspiConflict = "kaspi_conflict"
        }
        let value: Value

        /// The body is not the JSON the endpoint takes (or a field is not base64/hex).
        public static let malformedBody = Kind(value: .malformedBody)
        /// A query parameter is invalid.
        public static let invalidParameter = Kind(value: .invalidParameter)
        /// No `Authorization` header, or one that does not parse.
        public static let unauthenticated = Kind(value: .unauthenticated)
        /// The signing site is not known in the business it names — or the business does not exist
        /// (one answer for both, so that nobody learns which businesses exist).
        public static let unknownPrincipal = Kind(value: .unknownPrincipal)
        /// The request's signature does not verify against the signer's key.
        public static let badSignature = Kind(value: .badSignature)
        /// The request's timestamp is outside the accepted window.
        public static let staleRequest = Kind(value: .staleRequest)
        /// The request's nonce was used before.
        public static let replayedRequest = Kind(value: .replayedRequest)
        /// The signing box is revoked.
        public static let revoked = Kind(value: .revoked)
        /// The signing box has no certificate valid now.
        public static let notValid = Kind(value: .notValid)
        /// The signer may not do this (e.g. a box enrolling another box).
        public static let forbidden = Kind(value: .forbidden)
        /// No such resource for this requester: an unknown path, or a business that is not the
        /// requester's (the same answer whether or not it exists).
        public static let notFound = Kind(value: .notFound)
        public static let invalidRegistration = Kind(value: .invalidRegistration)
        public static let invalidCertificate = Kind(value: .invalidCertificate)
        public static let invalidRevocation = Kind(value: .invalidRevocation)
        public static let invalidSealedKey = Kind(value: .invalidSealedKey)
        /// A certificate, revocation or sealed key of another business than the path's.
        public static let wrongBusiness = Kind(value: .wrongBusiness)
        /// An invitation that does not decode or verify (docs/relay-protocol.md §12.1).
        public static let invalidInvitation = Kind(value: .invalidInvitation)
        /// A join request that does not decode, verify or belong to its invitation.
        public static let invalidJoinRequest = Kind(value: .invalidJoinRequest)
        /// A sealed snapshot that does not decode or verify, or is not the uploader's own.
        public static let invalidSnapshot = Kind(value: .invalidSnapshot)
        /// The invitation's validity has ended.
        public static let invitationExpired = Kind(value: .invitationExpired)
        /// The invitation was used by another box (or already answered).
        public static let invitationUsed = Kind(value: .invitationUsed)
        /// The stored snapshot reflects everything the uploaded one does and more.
        public static let staleSnapshot = Kind(value: .staleSnapshot)
        /// The business has no snapshot at the relay.
        public static let noSnapshot = Kind(value: .noSnapshot)
        public static let bodyTooLarge = Kind(value: .bodyTooLarge)
        /// More envelopes, or more envelope bytes, than one push may carry.
        public static let batchTooLarge = Kind(value: .batchTooLarge)
        /// This box sent more requests than its rate allows; retry after `retryAfter` seconds.
        public static let rateLimited = Kind(value: .rateLimited)
        /// This business has as many requests in progress and queued as it may; retry shortly.
        public static let businessBusy = Kind(value: .businessBusy)
        public static let methodNotAllowed = Kind(value: .methodNotAllowed)
        /// The relay's storage failed; the request changed nothing. The only server-side fault.
        public static let storageUnavailable = Kind(value: .storageUnavailable)
        /// The relay is shutting down.
        public static let shuttingDown = Kind(value: .shuttingDown)
        /// The relay is not a Kaspi gateway, or holds no (usable) Kaspi access for the business.
        public static let kaspiNotConfigured = Kind(value: .kaspiNotConfigured)
        /// Kaspi refused the operation (its code in `kaspi_code`); nothing happened at Kaspi.
        public static let kaspiRefused = Kind(value: .kaspiRefused)
        /// Kaspi did not answer definitely (unreachable, timed out, dropped, 5xx); ask again.
        public static let kaspiUnavailable = Kind(value: .kaspiUnavailable)
        /// Another request for the same payment or refund id is at Kaspi now; ask again.
        public static let kaspiInProgress = Kind(value: .kaspiInProgress)
        /// The payment or refund id was used before with another amount or payment.
        public static let kaspiConflict = Kind(value: .kaspiConflict)

        public var description: String { value.rawValue }
    }

    public let kind: Kind
    public let detail: String
    /// Seconds, for `rateLimited` and `businessBusy`.
    public var retryAfter: Int?
    /// Kaspi's `StatusCode`, for `kaspiRefused` (sent as the problem's `kaspi_code` member).
    public var kaspiCode: Int?

    public init(_ kind: Kind, _ detail: String, retryAfter: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.retryAfter = retryAfter
    }

    public var description: String { "\(kind): \(detail)" }
}
