import Replication
import Synchronization

/// The relay's limits against abuse (docs/relay-protocol.md §7). Every value has a default that
/// suits a business with a handful of branches.
public struct RelayLimits: Sendable, Hashable {
    /// Largest envelope accepted (bytes).
    public var maxEnvelopeBytes = 4 << 20
    /// Most envelopes in one push.
    public var maxBatchCount = 500
    /// Most envelope bytes in one push (decoded, summed).
    public var maxBatchBytes = 16 << 20
    /// Most envelopes one pull returns; a pull may ask for fewer.
    public var maxPullCount = 500
    /// Most envelope bytes one pull returns (at least one envelope is always returned).
    public var maxPullBytes = 8 << 20
    /// Longest long-poll wait (seconds).
    public var maxWaitSeconds = 25
    /// Largest sealed snapshot a box may upload (bytes); also the body limit of the upload.
    public var maxSnapshotBytes = 64 << 20
    /// How long the relay keeps an invitation after it expired (for the joining box to read its answer).
    public var invitationRetentionMilliseconds: Int64 = 7 * 86_400_000
    /// Largest body of any other request (bytes).
    public var maxSmallBodyBytes = 64 * 1024
    /// Accepted distance between a request's timestamp and the relay's clock (milliseconds).
    public var timestampWindowMilliseconds: Int64 = 5 * 60 * 1000
    /// Per-box token bucket: burst size and refill per second.
    public var requestBurst = 120
    public var requestsPerSecond = 20.0
    /// Per-business fairness: operations running at once, and waiting, per business.
    public var businessConcurrency = 4
    public var businessQueue = 32
    /// How often a long-poll re-reads a shared store (PostgreSQL) even without a local
    /// notification, since another relay process may have stored something.
    public var pollInterval: Duration = .milliseconds(500)

    public init() {}

    /// The largest push body the relay reads: base64 (4/3) plus JSON framing.
    var maxPushBodyBytes: Int { maxBatchBytes / 3 * 4 + maxBatchCount * 8 + 4096 }
}

/// Token buckets per box (business and site). A bucket that has been full for a while is
/// forgotten, so memory stays bounded by the boxes active in the last minutes.
final class RateLimiter: Sendable {
    struct Bucket { var tokens: Double; var updated: Int64 }
    private let buckets = Mutex<[String: Bucket]>([:])
    let burst: Double
    let perSecond: Double

    init(burst: Int, perSecond: Double) {
        self.burst = Double(max(1, burst))
        self.perSecond = max(0.001, perSecond)
    }

    /// Takes one token for `key` at `now`.
    /// - Returns: nil when allowed, otherwise the seconds until a token is available.
    func take(_ key: String, now: Int64) -> Int? {
        buckets.withLock { buckets in
            if buckets.count > 100_000 {
                buckets = buckets.filter { Double(now - $0.value.updated) / 1000 * perSecond + $0.value.tokens < burst }
            }
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double(max(0, now - bucket.updated)) / 1000
            bucket.tokens = min(burst, bucket.tokens + elapsed * perSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up)))
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            return nil
        }
    }
}

/// Bounded concurrency per business, so that a flood from one business cannot occupy the relay:
/// at most `concurrency` operations of one business run at once, at most `queue` more wait (in
/// arrival order), and anything beyond is refused at once with `business_busy`.
final class BusinessLimiter: Sendable {
    struct Slot {
        var running = 0
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
    }
    struct State {
        var slots: [BusinessID: Slot] = [:]
        var nextID: UInt64 = 0
        var isShutDown = false
    }
    private let state = Mutex(State())
    let concurrency: Int
    let queue: Int

    init(concurrency: Int, queue: Int) {
        self.concurrency = max(1, concurrency)
        self.queue = max(0, queue)
    }

    /// Runs `body` in one of `business`'s slots.
    /// - Throws: `RelayError.businessBusy` when the business's queue is full; what `body` throws.
    func run<T: Sendable>(_ business: BusinessID, _ body: () async throws -> T) async throws -> T {
        try await acquire(business)
        defer { release(business) }
        return try await body()
    }

    /// How many operations of `business` run and wait now (for tests and metrics).
    func load(of business: BusinessID) -> (running: Int, waiting: Int) {
        state.withLock { state in (state.slots[business]?.running ?? 0, state.slots[business]?.waiting.count ?? 0) }
    }

    private enum Admission { case now, refuse, shutDown, wait(UInt64) }

    private func acquire(_ business: BusinessID) async throws {
        let admission: Admission = state.withLock { state in
            guard !state.isShutDown else { return .shutDown }
            var slot = state.slots[business] ?? Slot()
            defer { state.slots[business] = slot }
            if slot.running < concurrency { slot.running += 1; return .now }
            guard slot.waiting.count < queue else { return .refuse }
            state.nextID += 1
            return .wait(state.nextID)
        }
        switch admission {
        case .now: return
        case .refuse: throw RelayError(.businessBusy, "this business has too many requests in progress; retry shortly", retryAfter: 1)
        case .shutDown: throw RelayError(.shuttingDown, "the relay is shutting down")
        case .wait(let id):
            let admitted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    if state.isShutDown { return true }
                    state.slots[business, default: Slot()].waiting.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume(returning: false) }
            }
            guard admitted else { throw RelayError(.shuttingDown, "the relay is shutting down") }
        }
    }

    private func release(_ business: BusinessID) {
        let next: CheckedContinuation<Bool, Never>? = state.withLock { state in
            guard var slot = state.slots[business] else { return nil }
            if !slot.waiting.isEmpty {
                let next = slot.waiting.removeFirst() // the slot passes to the next waiter
                state.slots[business] = slot
                return next.continuation
            }
            slot.running -= 1
            state.slots[business] = slot.running == 0 ? nil : slot
            return nil
        }
        next?.resume(returning: true)
    }

    /// Refuses new work and lets every waiter go (refused).
    func shutdown() {
        let waiters: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            state.isShutDown = true
            let waiters = state.slots.values.flatMap { $0.waiting.map(\.continuation) }
            for key in Array(state.slots.keys) { state.slots[key]?.waiting = [] }
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: false) }
    }
}

/// Wakes long-polling pulls of a business when something was stored for it in this process.
/// (Pulls also re-read storage every `RelayLimits.pollInterval`, for pushes that reached
/// another relay process.)
final class ChangeNotifier: Sendable {
    struct State {
        var generations: [BusinessID: UInt64] = [:]
        var waiters: [BusinessID: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
        var isShutDown = false
    }
    private let state = Mutex(State())

    /// The number of notifications for `business` so far.
    func generation(of business: BusinessID) -> UInt64 { state.withLock { $0.generations[business] ?? 0 } }

    var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// How many waits for `business` are parked now.
    func waiting(for business: BusinessID) -> Int { state.withLock { $0.waiters[business]?.count ?? 0 } }

    /// Something was stored for `business`: wake its waiters.
    func notify(_ business: BusinessID) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.generations[business, default: 0] += 1
            return Array((state.waiters.removeValue(forKey: business) ?? [:]).values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until `business`'s generation passes `generation`, `timeout` passes, the task is
    /// cancelled or the relay shuts down — whichever comes first.
    func wait(for business: BusinessID, after generation: UInt64, timeout: Duration) async {
        let id: UInt64 = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow: Bool = self.state.withLock { state in
                            if state.isShutDown || state.cancelled.remove(id) != nil || (state.generations[business] ?? 0) > generation { return true }
                            state.waiters[business, default: [:]][id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let continuation: CheckedContinuation<Void, Never>? = self.state.withLock { state in
                        if let continuation = state.waiters[business]?.removeValue(forKey: id) { return continuation }
                        state.cancelled.insert(id)
                        return nil
                    }
                    continuation?.resume()
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        // A cancellation that found no waiter leaves its mark only until here.
        _ = state.withLock { $0.cancelled.remove(id) }
    }

    /// Ends every wait now and every later one at once.
    func shutdown() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.isShutDown = true
            let all = state.waiters.values.flatMap { $0.values }
            state.waiters = [:]
            return Array(all)
        }
        for waiter in waiters { waiter.resume() }
    }
}
