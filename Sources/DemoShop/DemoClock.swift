import Domain
import Replication
import Synchronization

/// A physical clock that is the system clock plus an adjustable offset; the demo walks it through
/// the past two weeks while seeding, then returns it to now.
///
/// Open the demo replica's store with `physicalClock` (in `ReplicaConfiguration`), so the domain's
/// notion of "now" follows the walk.
public final class DemoClock: Sendable {
    /// Milliseconds added to the system clock.
    private let offset = Mutex<Int64>(0)

    public init() {}

    /// The clock to give `ReplicaConfiguration.physicalClock`.
    public var physicalClock: PhysicalClock {
        PhysicalClock { [self] in
            UInt64(max(0, Int64(PhysicalClock.system.now()) + offset.withLock { $0 }))
        }
    }

    /// Pretends it is `instant` now (the clock keeps running from there).
    public func set(_ instant: Instant) {
        let system = Int64(PhysicalClock.system.now())
        offset.withLock { $0 = instant.milliseconds - system }
    }

    /// Back to the system clock.
    public func reset() {
        offset.withLock { $0 = 0 }
    }

    /// What the clock reads now.
    var now: Instant { Instant(milliseconds: Int64(physicalClock.now())) }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, seedable generator, so that a seed always
/// gives the same demo data on every platform. Never used for anything secret.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `range` (the modulo bias is far below anything a demo could show).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % width)
    }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    /// A uniformly chosen element; nil only for an empty collection.
    mutating func pick<C: RandomAccessCollection>(_ elements: C) -> C.Element? where C.Index == Int {
        guard !elements.isEmpty else { return nil }
        return elements[elements.startIndex + int(0...(elements.count - 1))]
    }

    /// An element chosen with probability proportional to its weight; nil if no weight is positive.
    mutating func weighted<T>(_ choices: [(T, Int)]) -> T? {
        let total = choices.reduce(0) { $0 + max(0, $1.1) }
        guard total > 0 else { return nil }
        var ticket = int(0...(total - 1))
        for (choice, weight) in choices where weight > 0 {
            if ticket < weight { return choice }
            ticket -= weight
        }
        return nil
    }

    /// A copy of `elements` in random order (Fisher–Yates).
    mutating func shuffled<T>(_ elements: [T]) -> [T] {
        var result = elements
        guard result.count > 1 else { return result }
        for index in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(index, int(0...index))
        }
        return result
    }

    /// 16 bytes, for deterministic record ids.
    mutating func bytes16() -> [UInt8] {
        let high = next(), low = next()
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> (8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (8 * UInt64($0))) }
    }
}
