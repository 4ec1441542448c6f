/// An error of the replica store, with a stable code and a message a developer can act on.
public struct ReplicationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: String {
            case notRegistered, notFound, alreadyExists, invalidKey, unknownColumn, appendOnly
            case directWriteRefused, schema, identityMismatch, snapshotRequired, invalidSnapshot
            case storage, invalidArgument, inUse
        }
        let value: Value
        public static let notRegistered = Code(value: .notRegistered)
        public static let notFound = Code(value: .notFound)
        public static let alreadyExists = Code(value: .alreadyExists)
        public static let invalidKey = Code(value: .invalidKey)
        public static let unknownColumn = Code(value: .unknownColumn)
        public static let appendOnly = Code(value: .appendOnly)
        public static let directWriteRefused = Code(value: .directWriteRefused)
        public static let schema = Code(value: .schema)
        public static let identityMismatch = Code(value: .identityMismatch)
        public static let snapshotRequired = Code(value: .snapshotRequired)
        public static let invalidSnapshot = Code(value: .invalidSnapshot)
        public static let storage = Code(value: .storage)
        public static let invalidArgument = Code(value: .invalidArgument)
        /// Another process (the running daemon) holds the replica.
        public static let inUse = Code(value: .inUse)
        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(code): \(message) (\(cause))" }
        return "\(code): \(message)"
    }
}

/// Identifies one changeset: its author and sequence number.
public struct ChangesetID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let author: SiteID
    public let sequence: UInt64
    public init(author: SiteID, sequence: UInt64) {
        self.author = author
        self.sequence = sequence
    }
    public var description: String { "\(author.hex)#\(sequence)" }
    public static func < (lhs: ChangesetID, rhs: ChangesetID) -> Bool {
        lhs.author == rhs.author ? lhs.sequence < rhs.sequence : lhs.author < rhs.author
    }
}

/// Why an incoming changeset was refused. Stable codes, recorded in `edgenode_rejections`.
public struct RejectionReason: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The bytes are not a well-formed changeset (includes truncation and impossible lengths).
    public static let malformed = RejectionReason(rawValue: "malformed")
    /// Larger than the configured maximum.
    public static let tooLarge = RejectionReason(rawValue: "too_large")
    public static let wrongBusiness = RejectionReason(rawValue: "wrong_business")
    public static let unknownAuthor = RejectionReason(rawValue: "unknown_author")
    public static let certificateNotValid = RejectionReason(rawValue: "certificate_not_valid")
    public static let revoked = RejectionReason(rawValue: "revoked")
    public static let badSignature = RejectionReason(rawValue: "bad_signature")
    /// `previousHash` does not name the author's previous changeset.
    public static let brokenChain = RejectionReason(rawValue: "broken_chain")
    /// A different, validly signed changeset for a sequence number already applied.
    public static let equivocation = RejectionReason(rawValue: "equivocation")
    /// An append-only row arrived again with different content.
    public static let appendOnlyTamper = RejectionReason(rawValue: "append_only_tamper")
    /// The content breaks a rule of the replicated schema (bad key, NOT NULL, bad certificate row…).
    public static let invalidContent = RejectionReason(rawValue: "invalid_content")
}

/// A refused changeset.
public struct Rejection: Hashable, Sendable, CustomStringConvertible {
    public let id: ChangesetID?
    public let reason: RejectionReason
    public let message: String
    public var description: String { "\(id.map(\.description) ?? "unidentified changeset"): \(reason): \(message)" }
}

/// What applying a batch of changesets did.
public struct ApplyReport: Sendable {
    public internal(set) var applied: [ChangesetID] = []
    public internal(set) var duplicates: [ChangesetID] = []
    /// Verified changesets kept until the author's missing predecessors arrive.
    public internal(set) var waiting: [ChangesetID] = []
    public internal(set) var rejected: [Rejection] = []
    /// Per author, the first and last missing sequence numbers after this batch.
    public internal(set) var gaps: [SequenceGap] = []

    public init() {}
}

/// A run of sequence numbers of one author that this replica lacks while it holds later ones.
public struct SequenceGap: Hashable, Sendable, CustomStringConvertible {
    public let author: SiteID
    public let missing: ClosedRange<UInt64>
    public var description: String { "\(author.hex) lacks \(missing.lowerBound)…\(missing.upperBound)" }
}
