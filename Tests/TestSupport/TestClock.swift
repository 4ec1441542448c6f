// The one clock tests move by hand, and the one seeded random generator.
import Domain
import Foundation
import Replication

/// A clock that tests move by hand, in milliseconds since the Unix epoch. It hands itself out
/// in the shape each layer takes: `physical` for a replica, `now` for the domain; the relay's
/// tests wrap `milliseconds` in a `RelayClock`.
public final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64

    /// A clock at `milliseconds` (default: 2026-09-21T14:13:20Z, a fixed instant).
    public init(milliseconds: Int64 = 1_790_000_000_000) { value = milliseconds }
    public convenience init(_ instant: Instant) { self.init(milliseconds: instant.milliseconds) }
    /// A clock at an ISO 8601 instant, e.g. `"2026-03-02T03:00:00Z"`.
    public convenience init(_ iso8601: String) { self.init(Instant(iso8601: iso8601)!) }

    public var milliseconds: Int64 { lock.withLock { value } }
    public var now: Instant { Instant(milliseconds: milliseconds) }
    public var physical: PhysicalClock { PhysicalClock { [self] in UInt64(milliseconds) } }

    public func set(milliseconds: Int64) { lock.withLock { value = milliseconds } }
    public func set(_ instant: Instant) { set(milliseconds: instant.milliseconds) }
    public func advance(milliseconds: Int64) { lock.withLock { value += milliseconds } }
    public func advance(minutes: Int) { advance(milliseconds: Int64(minutes) * 60_000) }
}

/// A deterministic random number generator (SplitMix64), so that a failing property test
/// replays from the seed it prints. (The demo shop has its own copy in `DemoShop`: its output is
/// part of the benchmarks' fixed workload, and product code cannot depend on test support.)
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A new, empty directory under the system's temporary folder (`prefix` names the suite).
public func temporaryDirectory(_ prefix: String = "edgenode-test") -> String {
    let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
