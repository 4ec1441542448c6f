import Replication

/// A typed identifier: a lowercase UUIDv7 string, tagged with the kind of record it names.
public struct Identifier<Tag>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Wraps an existing id; nil if it is not a UUIDv7.
    public init?(_ rawValue: String) {
        guard UUIDv7.isValid(rawValue) else { return nil }
        self.rawValue = rawValue.lowercased()
    }

    init(trusted rawValue: String) { self.rawValue = rawValue }

    /// A new id at the given time.
    public static func generate(at instant: Instant) -> Identifier {
        Identifier(trusted: UUIDv7.generate(milliseconds: UInt64(max(0, instant.milliseconds))))
    }

    /// An id derived from its parts with `instant`'s time: the same parts give the same id on every
    /// call and every box (e.g. a refund's id from its request's idempotency key).
    public static func derived(from parts: String..., at instant: Instant) -> Identifier {
        Identifier(trusted: derivedKey(parts, milliseconds: UInt64(max(0, instant.milliseconds))))
    }

    public static func < (lhs: Identifier, rhs: Identifier) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = Identifier(text) else {
            throw Swift.DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(text) is not a UUIDv7 id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public enum BranchTag: Sendable {}
public enum OfferingTag: Sendable {}
public enum StaffTag: Sendable {}
public enum ResourceTag: Sendable {}
public enum ClientTag: Sendable {}
public enum AppointmentTag: Sendable {}
public enum SeriesTag: Sendable {}
public enum WaitlistTag: Sendable {}
public enum TimeOffTag: Sendable {}
public enum ConflictTag: Sendable {}
public enum PersonTag: Sendable {}
public enum DeviceTag: Sendable {}

public typealias BranchID = Identifier<BranchTag>
public typealias OfferingID = Identifier<OfferingTag>
public typealias StaffID = Identifier<StaffTag>
public typealias ResourceID = Identifier<ResourceTag>
public typealias ClientID = Identifier<ClientTag>
public typealias AppointmentID = Identifier<AppointmentTag>
public typealias SeriesID = Identifier<SeriesTag>
public typealias WaitlistEntryID = Identifier<WaitlistTag>
public typealias TimeOffID = Identifier<TimeOffTag>
public typealias ConflictID = Identifier<ConflictTag>
public typealias PersonID = Identifier<PersonTag>
public typealias DeviceID = Identifier<DeviceTag>

/// An amount of money in minor units (tiyn, pence, poisha) of an ISO 4217 currency. Never floating point.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    public var amountMinor: Int64
    public var currency: String

    public init(amountMinor: Int64, currency: String) {
        self.amountMinor = amountMinor
        self.currency = currency
    }

    public var description: String { "\(amountMinor) \(currency) (minor units)" }

    /// `currency` must be three uppercase ASCII letters.
    public static func isCurrencyCode(_ code: String) -> Bool {
        code.utf8.count == 3 && code.utf8.allSatisfy { $0 >= 65 && $0 <= 90 }
    }
}
