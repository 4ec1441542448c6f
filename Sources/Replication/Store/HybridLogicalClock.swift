import Foundation

/// A hybrid logical clock timestamp (Kulkarni et al., "Logical Physical Clocks", 2014):
/// the upper 48 bits are physical milliseconds since the Unix epoch, the lower 16 bits a
/// logical counter. Ordered as an unsigned 64-bit integer.
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(milliseconds: UInt64, counter: UInt16) {
        rawValue = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | UInt64(counter)
    }

    public static let zero = HLCTimestamp(rawValue: 0)

    public var milliseconds: UInt64 { rawValue >> 16 }
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    /// The next timestamp after this one.
    public var successor: HLCTimestamp { HLCTimestamp(rawValue: rawValue &+ 1) }

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(milliseconds).\(counter)" }
}

/// A source of physical time in milliseconds. Tests inject their own.
public struct PhysicalClock: Sendable {
    public let now: @Sendable () -> UInt64
    public init(_ now: @escaping @Sendable () -> UInt64) { self.now = now }

    public static let system = PhysicalClock {
        UInt64(max(0, (Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

/// The hybrid logical clock of one replica.
///
/// `now()` stamps a local transaction; `observe(_:)` folds in a timestamp received from another
/// replica. A received timestamp more than `maxForwardDrift` ahead of this replica's physical
/// clock moves the clock only up to that bound, so one box with a wrong clock cannot drag the
/// whole fleet into the future (see docs/replication.md, "Clocks").
public final class HybridLogicalClock: @unchecked Sendable {
    private let lock = NSLock()
    private var last: HLCTimestamp
    public let physical: PhysicalClock
    public let maxForwardDrift: UInt64

    public init(physical: PhysicalClock = .system, last: HLCTimestamp = .zero, maxForwardDriftMilliseconds: UInt64 = 5 * 60 * 1000) {
        self.physical = physical
        self.last = last
        self.maxForwardDrift = maxForwardDriftMilliseconds
    }

    /// The last timestamp issued or observed.
    public var current: HLCTimestamp { lock.withLock { last } }

    /// A new timestamp, greater than every timestamp issued or observed so far.
    public func now() -> HLCTimestamp {
        let pt = physical.now()
        return lock.withLock {
            if pt > last.milliseconds {
                last = HLCTimestamp(milliseconds: pt, counter: 0)
            } else {
                last = last.successor
            }
            return last
        }
    }

    /// Folds in a remote timestamp.
    /// - Returns: how many milliseconds the remote timestamp was beyond the allowed drift
    ///   (0 when it was within bounds).
    @discardableResult
    public func observe(_ remote: HLCTimestamp) -> UInt64 {
        let pt = physical.now()
        let ceiling = HLCTimestamp(milliseconds: pt + maxForwardDrift, counter: 0)
        return lock.withLock {
            let accepted = min(remote, ceiling)
            if accepted > last { last = accepted }
            return remote.milliseconds > ceiling.milliseconds ? remote.milliseconds - ceiling.milliseconds : 0
        }
    }

    /// Moves the clock up to `timestamp` without any drift bound (used for this replica's own
    /// persisted clock at start-up).
    func observeUnbounded(_ timestamp: HLCTimestamp) {
        lock.withLock { if timestamp > last { last = timestamp } }
    }

    /// How far (in milliseconds) the clock's last timestamp is ahead of physical time.
    public var lead: Int64 {
        let pt = physical.now()
        return lock.withLock { Int64(last.milliseconds) - Int64(pt) }
    }
}
