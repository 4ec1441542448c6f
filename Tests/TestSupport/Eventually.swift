// Waiting for something that happens on its own time (a sync round, a process starting, a log
// line): one way for every test, with a deadline and a name for what did not happen. Tests never
// assert on how long it took; timings belong in the benchmarks.
import Foundation

/// What did not happen before its deadline.
public struct TimeoutError: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out: \(what)" }
}

/// The deadline a wait really gets: one of 15 s or more says "this should happen", and is raised to
/// at least 180 s — the full suite on two cores can keep Swift's cooperative pool busy with blocking
/// test work for tens of seconds, and a wait returns the moment its condition holds anyway. Shorter
/// deadlines (checks that something does *not* happen soon) are kept as they are.
public func generous(_ timeout: Duration) -> Duration {
    timeout >= .seconds(15) ? max(timeout, .seconds(180)) : timeout
}

/// Waits until `condition` holds, checking it every `interval`.
/// - Parameters:
///   - what: what is awaited, for the failure message.
///   - timeout: a generous deadline: the time after which the test gives up, never a measure.
///   - interval: how often `condition` is checked.
///   - report: more context for the failure message (state of the processes involved, say).
/// - Throws: `TimeoutError` naming `what` (and `report()`) when the deadline passes, or what
///   `condition` throws.
public func eventually(_ what: @autoclosure () -> String, timeout: Duration = .seconds(120), every interval: Duration = .milliseconds(50),
                       report: () -> String = { "" }, _ condition: () async throws -> Bool) async throws {
    _ = try await eventuallyValue(what(), timeout: timeout, every: interval, report: report) { try await condition() ? () : nil }
}

/// Waits until `produce` returns a value and returns it, checking every `interval`.
/// - Throws: `TimeoutError` as `eventually` does.
public func eventuallyValue<T>(_ what: @autoclosure () -> String, timeout: Duration = .seconds(120), every interval: Duration = .milliseconds(50),
                               report: () -> String = { "" }, _ produce: () async throws -> T?) async throws -> T {
    let timeout = generous(timeout)
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await produce() { return value }
        guard ContinuousClock.now < deadline else {
            let extra = report()
            throw TimeoutError(what: "never happened within \(timeout): \(what())" + (extra.isEmpty ? "" : "\n" + extra))
        }
        try await Task.sleep(for: interval)
    }
}

/// The blocking form of `eventually`, for tests that already run on a thread of their own
/// (`offPool`): whether `condition` came to hold before `timeout` passed.
public func holdsWithin(_ timeout: Duration, every interval: Duration = .milliseconds(250), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
    }
    return try condition()
}

/// Runs `body`, and fails with `TimeoutError(what)` if it has not finished after `timeout` (so
/// an unreachable server fails the test instead of hanging the suite).
public func withTimeout<T: Sendable>(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let timeout = generous(timeout)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimeoutError(what: what) }
        return value
    }
}

/// Runs blocking work (waiting for a child process, a blocking read, a shell command) on a
/// thread of its own. Swift's cooperative pool has one thread per core (two here): a test that
/// blocked it for seconds would stall every other test's async work (a full run once saw
/// PostgreSQL relay tests time out that way).
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
