import Synchronization

/// The port a daemon's HTTP server listens on, known once it listens (useful with port 0).
///
/// Readiness has two audiences: systemd, told `READY=1` by `SystemdNotifier`, and code in the
/// same process (tests, benchmarks) that starts a daemon and must not talk to it before it
/// listens. `waitUntilListening()` suspends until then instead of polling.
public final class ListeningPort: Sendable {
    private enum State {
        case waiting([UInt64: CheckedContinuation<Int, any Error>], next: UInt64)
        case listening(Int)
        case stopped(String)
    }

    private let state = Mutex<State>(.waiting([:], next: 0))

    public init() {}

    /// The port, or 0 before the server listens.
    public var port: Int {
        state.withLock { if case .listening(let port) = $0 { port } else { 0 } }
    }

    /// Records the port and wakes every waiter.
    public func listening(on port: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int, any Error>] in
            defer { state = .listening(port) }
            if case .waiting(let waiters, _) = state { return Array(waiters.values) }
            return []
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    /// The server will not listen (it failed to start, or stopped before it listened): every
    /// waiter, now and later, gets `NotListening(reason)`. After it listened, this does nothing.
    public func stopped(_ reason: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int, any Error>] in
            guard case .waiting(let waiters, _) = state else { return [] }
            state = .stopped(reason)
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: NotListening(reason: reason)) }
    }

    /// Returns the port once the server listens.
    /// - Throws: `NotListening` when the server stopped first; `CancellationError` when the
    ///   waiting task is cancelled.
    public func waitUntilListening() async throws -> Int {
        let id = Mutex<UInt64?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let immediate: Result<Int, any Error>? = state.withLock { state in
                    switch state {
                    case .listening(let port): return .success(port)
                    case .stopped(let reason): return .failure(NotListening(reason: reason))
                    case .waiting(var waiters, let next):
                        if Task.isCancelled { return .failure(CancellationError()) }
                        waiters[next] = continuation
                        id.withLock { $0 = next }
                        state = .waiting(waiters, next: next + 1)
                        return nil
                    }
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Int, any Error>? in
                guard case .waiting(var waiters, let next) = state, let key = id.withLock({ $0 }), let waiter = waiters.removeValue(forKey: key) else { return nil }
                state = .waiting(waiters, next: next)
                return waiter
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }
}

/// The server stopped (or failed to start) before it listened.
public struct NotListening: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "the server is not listening: \(reason)" }
}
