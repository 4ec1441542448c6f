import Foundation

/// The JSON bodies of the relay's HTTP API (docs/relay-protocol.md §5, §12, §13;
/// docs/relay-openapi.yaml), defined once: the relay (`RelayHTTP`) encodes its replies and decodes
/// its requests with them, the box (its uplink, invitations and bootstrap) the other way round.
///
/// Keys travel in snake_case (`convertToSnakeCase` of the Swift names), binary values in standard
/// base64, ids in lower-case hex. An optional field is left out when nil, except where a body's
/// own `encode(to:)` says it is sent as `null` (`snapshot`).
public enum RelayJSON {
    /// Both sides read with this: snake_case keys.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// The relay writes its replies with this: snake_case keys, sorted, slashes unescaped.
    public static var replyEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The box writes its requests with this: snake_case keys in declaration order (the bytes it
    /// signs are the bytes it sends, so any encoding would verify; this one is what boxes send).
    public static var requestEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    // MARK: Health and registration (§5.1)

    /// `GET /v1/health`.
    public struct HealthReply: Codable, Sendable {
        public var status: String
        public init(status: String) { self.status = status }
    }

    /// `POST /v1/businesses`: the owner key (hex), a Unix-milliseconds timestamp and the proof of
    /// possession (hex) over both.
    public struct RegisterRequest: Codable, Sendable {
        public var ownerKey: String
        public var timestamp: Int64
        public var signature: String
        public init(ownerKey: String, timestamp: Int64, signature: String) {
            self.ownerKey = ownerKey
            self.timestamp = timestamp
            self.signature = signature
        }
    }

    public struct RegisterReply: Codable, Sendable {
        public var business: String
        public var created: Bool
        public init(business: String, created: Bool) {
            self.business = business
            self.created = created
        }
    }

    // MARK: Certificates and revocations (§5.2, §5.3)

    /// `POST …/certificates`: an encoded certificate, base64.
    public struct CertificateRequest: Codable, Sendable {
        public var certificate: String
        public init(certificate: String) { self.certificate = certificate }
    }

    public struct CertificateReply: Codable, Sendable {
        public var site: String
        public var role: String
        public var branch: String
        public var notBefore: Int64
        public var notAfter: Int64
        public var created: Bool
        public init(site: String, role: String, branch: String, notBefore: Int64, notAfter: Int64, created: Bool) {
            self.site = site
            self.role = role
            self.branch = branch
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.created = created
        }
    }

    /// `POST …/revocations`: an encoded revocation, base64.
    public struct RevocationRequest: Codable, Sendable {
        public var revocation: String
        public init(revocation: String) { self.revocation = revocation }
    }

    public struct RevocationReply: Codable, Sendable {
        public var site: String
        public var effectiveFrom: Int64
        public var created: Bool
        public init(site: String, effectiveFrom: Int64, created: Bool) {
            self.site = site
            self.effectiveFrom = effectiveFrom
            self.created = created
        }
    }

    // MARK: Envelopes (§5.4, §5.5, §5.6)

    /// `POST …/envelopes`: sealed envelopes, base64 each.
    public struct PushRequest: Codable, Sendable {
        public var envelopes: [String]
        public init(envelopes: [String]) { self.envelopes = envelopes }
    }

    /// One envelope's fate: `stored`, `duplicate` or `refused` (with a reason and detail).
    public struct PushReplyItem: Codable, Sendable {
        public var index: Int
        public var hash: String?
        public var status: String
        public var reason: String?
        public var detail: String?
        public var expectedSequence: UInt64?
        public init(index: Int, hash: String?, status: String, reason: String?, detail: String?, expectedSequence: UInt64?) {
            self.index = index
            self.hash = hash
            self.status = status
            self.reason = reason
            self.detail = detail
            self.expectedSequence = expectedSequence
        }
    }

    public struct PushReply: Codable, Sendable {
        public var results: [PushReplyItem]
        public var stored: Int
        public var duplicates: Int
        public var refused: Int
        public init(results: [PushReplyItem], stored: Int, duplicates: Int, refused: Int) {
            self.results = results
            self.stored = stored
            self.duplicates = duplicates
            self.refused = refused
        }
    }

    /// `POST …/pull`: the puller's vector (base64), and optionally a batch limit, a long-poll wait,
    /// and the membership and join-request counts of the previous answer (a change since ends the
    /// long-poll at once).
    public struct PullRequest: Codable, Sendable {
        public var vector: String
        public var limit: Int?
        public var waitSeconds: Int?
        public var membership: Int?
        public var joinRequests: Int?
        public init(vector: String, limit: Int? = nil, waitSeconds: Int? = nil, membership: Int? = nil, joinRequests: Int? = nil) {
            self.vector = vector
            self.limit = limit
            self.waitSeconds = waitSeconds
            self.membership = membership
            self.joinRequests = joinRequests
        }
    }

    /// An author whose envelopes the relay compacted away through `through`.
    public struct CompactedItem: Codable, Sendable, Equatable {
        public var author: String
        public var through: UInt64
        public init(author: String, through: UInt64) {
            self.author = author
            self.through = through
        }
    }

    /// The answer to a pull. The relay always sends every key (`snapshot` as `null` when it has
    /// none); the box reads the later additions (§12, §13) as optional, as it always has.
    public struct PullReply: Codable, Sendable {
        public var envelopes: [String]
        public var more: Bool
        public var available: String
        public var compacted: [CompactedItem]?
        public var compaction: String?
        public var snapshot: SnapshotMeta?
        public var joinRequests: Int?
        public var membership: Int?

        public init(envelopes: [String], more: Bool, available: String, compacted: [CompactedItem]?, compaction: String?, snapshot: SnapshotMeta?,
                    joinRequests: Int?, membership: Int?) {
            self.envelopes = envelopes
            self.more = more
            self.available = available
            self.compacted = compacted
            self.compaction = compaction
            self.snapshot = snapshot
            self.joinRequests = joinRequests
            self.membership = membership
        }

        enum CodingKeys: String, CodingKey { case envelopes, more, available, compacted, compaction, snapshot, joinRequests, membership }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(envelopes, forKey: .envelopes)
            try container.encode(more, forKey: .more)
            try container.encode(available, forKey: .available)
            try container.encode(compacted, forKey: .compacted)
            try container.encode(compaction, forKey: .compaction)
            try container.encode(snapshot, forKey: .snapshot) // null when there is none
            try container.encode(joinRequests, forKey: .joinRequests)
            try container.encode(membership, forKey: .membership)
        }
    }

    /// `POST …/acknowledgements`: the vector the box holds (base64).
    public struct AcknowledgementRequest: Codable, Sendable {
        public var vector: String
        public init(vector: String) { self.vector = vector }
    }

    public struct AcknowledgementReply: Codable, Sendable {
        public var site: String
        public var vector: String
        public init(site: String, vector: String) {
            self.site = site
            self.vector = vector
        }
    }

    // MARK: Data keys (§5.7)

    /// `POST …/data-keys`: a sealed data key, base64.
    public struct SealedKeyRequest: Codable, Sendable {
        public var sealedKey: String
        public init(sealedKey: String) { self.sealedKey = sealedKey }
    }

    public struct SealedKeyReply: Codable, Sendable {
        public var recipient: String
        public var keyId: UInt32
        public var created: Bool
        public init(recipient: String, keyId: UInt32, created: Bool) {
            self.recipient = recipient
            self.keyId = keyId
            self.created = created
        }
    }

    /// `GET …/data-keys`: the keys sealed to the caller, base64 each.
    public struct SealedKeysReply: Codable, Sendable {
        public var sealedKeys: [String]
        public init(sealedKeys: [String]) { self.sealedKeys = sealedKeys }
    }

    // MARK: Invitations and join requests (§12)

    /// `POST …/invitations`: an encoded invitation, base64.
    public struct InvitationRequest: Codable, Sendable {
        public var invitation: String
        public init(invitation: String) { self.invitation = invitation }
    }

    public struct InvitationReply: Codable, Sendable {
        public var invitation: String
        public var notAfter: Int64
        public var created: Bool
        public init(invitation: String, notAfter: Int64, created: Bool) {
            self.invitation = invitation
            self.notAfter = notAfter
            self.created = created
        }
    }

    /// `POST …/invitations/{id}/join-request`: an encoded join request, base64.
    public struct JoinRequestBody: Codable, Sendable {
        public var joinRequest: String
        public init(joinRequest: String) { self.joinRequest = joinRequest }
    }

    /// An invitation's state (`open`, `requested`, `approved`, `refused`); the certificate when
    /// approved, the reason when refused, and `created` only in the answer to a join request.
    public struct JoinStatusReply: Codable, Sendable {
        public var invitation: String
        public var state: String
        public var notAfter: Int64
        public var certificate: String?
        public var refusal: String?
        public var created: Bool?
        public init(invitation: String, state: String, notAfter: Int64, certificate: String?, refusal: String?, created: Bool?) {
            self.invitation = invitation
            self.state = state
            self.notAfter = notAfter
            self.certificate = certificate
            self.refusal = refusal
            self.created = created
        }
    }

    /// A join request waiting for the owner's box.
    public struct PendingJoinRequest: Codable, Sendable {
        public var invitation: String
        public var invitationRecord: String
        public var joinRequest: String
        public var box: String
        public var label: String
        public var receivedAt: Int64
        public init(invitation: String, invitationRecord: String, joinRequest: String, box: String, label: String, receivedAt: Int64) {
            self.invitation = invitation
            self.invitationRecord = invitationRecord
            self.joinRequest = joinRequest
            self.box = box
            self.label = label
            self.receivedAt = receivedAt
        }
    }

    /// `GET …/join-requests`.
    public struct PendingJoinRequestsReply: Codable, Sendable {
        public var joinRequests: [PendingJoinRequest]
        public init(joinRequests: [PendingJoinRequest]) { self.joinRequests = joinRequests }
    }

    /// `POST …/invitations/{id}/decision`: either a certificate (approve) or a refusal.
    public struct DecisionRequest: Codable, Sendable {
        public var certificate: String?
        public var refusal: String?
        public init(certificate: String? = nil, refusal: String? = nil) {
            self.certificate = certificate
            self.refusal = refusal
        }
    }

    // MARK: Snapshots (§13)

    /// The header of the relay's snapshot of the business, as a pull or `GET …/snapshot/info`
    /// reports it.
    public struct SnapshotMeta: Codable, Sendable, Equatable {
        public var producer: String
        public var createdAt: Int64
        public var keyId: UInt32
        public var vector: String
        public var bytes: Int
        public var storedAt: Int64
        public init(producer: String, createdAt: Int64, keyId: UInt32, vector: String, bytes: Int, storedAt: Int64) {
            self.producer = producer
            self.createdAt = createdAt
            self.keyId = keyId
            self.vector = vector
            self.bytes = bytes
            self.storedAt = storedAt
        }
    }

    /// `GET …/snapshot/info` (`snapshot` is `null` when there is none).
    public struct SnapshotInfoReply: Codable, Sendable {
        public var snapshot: SnapshotMeta?
        public var available: String
        public var compaction: String
        public init(snapshot: SnapshotMeta?, available: String, compaction: String) {
            self.snapshot = snapshot
            self.available = available
            self.compaction = compaction
        }

        enum CodingKeys: String, CodingKey { case snapshot, available, compaction }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(snapshot, forKey: .snapshot) // null when there is none
            try container.encode(available, forKey: .available)
            try container.encode(compaction, forKey: .compaction)
        }
    }

    /// The answer to `PUT …/snapshot`.
    public struct SnapshotStoredReply: Codable, Sendable {
        public var producer: String
        public var createdAt: Int64
        public var keyId: UInt32
        public var vector: String
        public var bytes: Int
        public init(producer: String, createdAt: Int64, keyId: UInt32, vector: String, bytes: Int) {
            self.producer = producer
            self.createdAt = createdAt
            self.keyId = keyId
            self.vector = vector
            self.bytes = bytes
        }
    }
}
