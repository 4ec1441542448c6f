import Foundation
import Synchronization

/// A unit of work: one SQLite write transaction that spans several of the store's `write(_:)`
/// and `read(_:)` calls and the async code between them, committed once.
///
/// The local API uses it so that a mutation and the reply it stores for its `Idempotency-Key`
/// commit together (a crash between the two would otherwise leave a booking whose retry is
/// refused as `slot_taken` by the booking itself); money writes are to use it the same way.
///
/// Inside `ReplicaStore.unitOfWork(_:)`:
/// - each `write(_:)` of that store joins the open transaction as a savepoint: it still yields
///   its own signed changeset, and a `write` that throws rolls back only its own changes;
/// - each `read(_:)` reads inside the open transaction (it sees the unit's uncommitted writes);
/// - `afterCommit(_:)` actions (wake-ups of change-feed readers) wait for the commit and are
///   dropped on a rollback;
/// - nothing is durable, and nothing is visible to other threads, until the unit's body returns
///   and the commit succeeds. If the body throws, or the process dies first, the whole unit —
///   every write in it — is undone.
///
/// How it spans async code: the store's lock is held by one thread for the whole unit, so the
/// unit's body runs with a task-executor preference for one dedicated thread (`UnitExecutor`),
/// and units run one at a time (a process-wide gate that suspends, never blocks, a waiting task).
/// Work the body wants to move off Swift's cooperative pool must run inline instead (check
/// `isInUnitOfWork`): a hop to another thread would wait for the lock this unit holds.
public final class UnitOfWork: Sendable {
    @TaskLocal static var current: UnitOfWork?

    let store: ReplicaStore
    private let actions = Mutex<[@Sendable () -> Void]>([])

    init(store: ReplicaStore) { self.store = store }

    func addAfterCommit(_ action: @escaping @Sendable () -> Void) { actions.withLock { $0.append(action) } }

    func takeActions() -> [@Sendable () -> Void] { actions.withLock { actions in defer { actions.removeAll() }; return actions } }

    static let gate = AsyncGate()
    static let executor = UnitExecutor(name: "edgenode-unit-of-work")
}

/// The state a unit of work saved when it began, to restore on a rollback. Guarded by the store's lock.
struct OpenUnit {
    let saved: ReplicaStore.SavedState
    let thread: pthread_t
}

extension ReplicaStore {
    /// Runs `body` as one write transaction (see `UnitOfWork`): the store's writes and reads made
    /// by the calling task inside it join the transaction, which commits when `body` returns and
    /// rolls back entirely when it throws. A nested call joins the open unit.
    /// - Returns: what `body` returns, once the transaction is durable.
    /// - Throws: what `body` throws (nothing of the unit is written then), or a storage error.
    public func unitOfWork<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if let open = UnitOfWork.current {
            guard open.store === self else {
                throw ReplicationError(.invalidArgument, "a unit of work of another replica is open in this task")
            }
            return try await body()
        }
        return try await withTaskExecutorPreference(UnitOfWork.executor) {
            // The gate is taken and handed on on the unit's thread: a waiting unit resumes there
            // directly, and the gate is never held while a task waits for a thread of Swift's
            // cooperative pool (a busy pool would otherwise stretch every queued unit's wait).
            await UnitOfWork.gate.acquire()
            defer { UnitOfWork.gate.release() }
            // The lock is taken and released by the executor's thread: every job of this task runs there.
            try UnitOfWork.executor.checkCurrent()
            let unit = UnitOfWork(store: self)
            try beginUnit()
            let result: T
            do {
                result = try await UnitOfWork.$current.withValue(unit) { try await body() }
                try UnitOfWork.executor.checkCurrent()
            } catch {
                rollbackUnit()
                throw error
            }
            try commitUnit()
            for action in unit.takeActions() { action() }
            return result
        }
    }

    /// Whether the calling task is inside a unit of work of this store.
    public var isInUnitOfWork: Bool { UnitOfWork.current?.store === self }

    /// Runs `action` once what the caller wrote is committed: at once outside a unit of work,
    /// after the unit's commit inside one (and never, if the unit rolls back).
    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        if let unit = UnitOfWork.current, unit.store === self {
            unit.addAfterCommit(action)
        } else {
            action()
        }
    }

    /// The open unit of work the caller belongs to, if any. Called with the lock held: with a unit
    /// open, only its own thread can hold the (recursive) lock.
    func joinedUnit() throws -> OpenUnit? {
        guard let openUnit else { return nil }
        guard pthread_equal(openUnit.thread, pthread_self()) != 0, UnitOfWork.current?.store === self else {
            throw ReplicationError(.storage, "the store was called from inside a unit of work in a way that cannot join it (another task on the unit's thread)")
        }
        // SQLite rolls a transaction back by itself after some errors (a full disk, an I/O error):
        // later statements must not run, and commit, outside the unit.
        guard connection.isInTransaction else {
            throw ReplicationError(.storage, "the unit of work's transaction was rolled back after an earlier storage error")
        }
        return openUnit
    }

    private func beginUnit() throws {
        lock.lock()
        do {
            guard openUnit == nil else { throw ReplicationError(.storage, "a unit of work is already open on this store") }
            do {
                try authorizer.with(.internal) { try connection.execute("BEGIN IMMEDIATE") }
            } catch {
                throw ReplicationError(.storage, "could not begin a unit of work: \(error)", cause: error)
            }
            openUnit = OpenUnit(saved: saveState(), thread: pthread_self())
        } catch {
            lock.unlock()
            throw error
        }
    }

    private func commitUnit() throws {
        defer { lock.unlock() }
        guard let unit = openUnit else { return }
        openUnit = nil
        do {
            try authorizer.with(.internal) { try connection.execute("COMMIT") }
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            restoreState(unit.saved)
            throw ReplicationError(.storage, "could not commit a unit of work; none of it was written: \(error)", cause: error)
        }
    }

    private func rollbackUnit() {
        defer { lock.unlock() }
        guard let unit = openUnit else { return }
        openUnit = nil
        if connection.isInTransaction { try? authorizer.with(.internal) { try connection.execute("ROLLBACK") } }
        restoreState(unit.saved)
    }
}

/// A lock for async code: a task that waits is suspended, not a thread blocked. First come, first served.
final class AsyncGate: Sendable {
    private let state = Mutex<(busy: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let enter = state.withLock { state in
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if enter { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// A task executor that runs every job on one thread of its own (started on first use, kept for
/// the life of the process).
final class UnitExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var started = false
    private var thread: pthread_t?
    private let name: String

    init(name: String) { self.name = name }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        if !started {
            started = true
            let worker = Thread { [self] in run() }
            worker.name = name
            worker.start()
        }
        condition.signal()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        thread = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Throws unless called on the executor's thread.
    func checkCurrent() throws {
        let current = condition.withLock { thread }
        guard let current, pthread_equal(current, pthread_self()) != 0 else {
            throw ReplicationError(.storage, "a unit of work ran off its thread")
        }
    }
}
