import Foundation
import Synchronization

/// The threads the store's blocking SQLite work runs on, so that it never occupies one of Swift's
/// cooperative threads (a write may wait for fsync; a long read may run for seconds).
///
/// A small fixed set of threads of its own (started on first use, kept for the life of the
/// process) takes jobs first come, first served. Callers do not use it directly: they call
/// `ReplicaStore.perform(_:)`, which also knows when to run inline instead (inside a unit of work).
final class StoreThreads: Sendable {
    static let shared = StoreThreads(count: max(2, min(4, ProcessInfo.processInfo.activeProcessorCount)), name: "edgenode-store")

    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var started = false
    }

    private let condition = NSCondition()
    private let state: Mutex<State>
    private let count: Int
    private let name: String
    /// Marks the threads of this pool, so a job can tell it already runs on one.
    private static let marker = "edgenode.store-thread"

    init(count: Int, name: String) {
        self.count = count
        self.name = name
        self.state = Mutex(State())
    }

    /// Whether the caller runs on one of the store's threads.
    static var isStoreThread: Bool { Thread.current.threadDictionary[marker] != nil }

    /// Runs `body` on one of the threads and resumes the caller with its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        let startThreads = state.withLock { state -> Bool in
            state.jobs.append(job)
            defer { state.started = true }
            return !state.started
        }
        if startThreads {
            for index in 0..<count {
                let worker = Thread { [self] in work() }
                worker.name = "\(name)-\(index)"
                worker.start()
            }
        }
        condition.signal()
        condition.unlock()
    }

    private func work() {
        Thread.current.threadDictionary[Self.marker] = true
        while true {
            condition.lock()
            var job = state.withLock { $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }
            while job == nil {
                condition.wait()
                job = state.withLock { $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }
            }
            condition.unlock()
            job!()
        }
    }
}

extension ReplicaStore {
    /// Runs blocking store work (`read`, `write` and the calls built on them) off Swift's
    /// cooperative pool: on the store's own threads (`StoreThreads`), resuming the caller with
    /// the result. Async code calls the store through this, never directly.
    ///
    /// Inside a unit of work of this store it runs `body` inline instead, on the unit's thread:
    /// the unit holds the store's lock on that thread, so any other thread would only wait for it.
    /// On one of the store's threads already it runs inline as well.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if isInUnitOfWork || StoreThreads.isStoreThread { return try body() }
        return try await StoreThreads.shared.run(body)
    }

    /// Whether the calling thread is one of the store's own threads (tests, and assertions of
    /// callers that must never block the cooperative pool).
    public static var isOnStoreThread: Bool { StoreThreads.isStoreThread }
}
