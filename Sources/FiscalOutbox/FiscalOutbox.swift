import Domain
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The fiscal outbox's timings (docs/fiscal.md, "The outbox").
public struct FiscalOutboxSettings: Sendable, Hashable {
    /// The wait after a document's first retryable failure; it doubles with each further one…
    public var firstRetry: Duration = .seconds(5)
    /// …up to this.
    public var longestRetry: Duration = .seconds(600)
    /// When a document the register refused (`.permanent`) is tried again: it stays listed as
    /// not fiscalised for a person, and a register that was fixed meanwhile then takes it.
    public var permanentRetry: Duration = .seconds(24 * 3600)
    /// How often the queue is looked at when nobody signals new work.
    public var pollInterval: Duration = .seconds(60)
    /// Documents asked of the queue at a time.
    public var batchLimit: Int = 20

    public init() {}

    /// The wait after `failures` consecutive retryable failures of the document at the head of
    /// the queue: 5 s, 10 s, 20 s, … doubling, at most 10 minutes (with the default settings).
    public func retryDelay(afterFailures failures: Int) -> Duration {
        var delay = firstRetry
        var doublings = max(failures, 1) - 1
        while doublings > 0, delay < longestRetry {
            delay *= 2
            doublings -= 1
        }
        return min(delay, longestRetry)
    }
}

/// Hands the documents of a `FiscalQueue` to a `FiscalRegister`, oldest first, and records what
/// the register answers (docs/fiscal.md).
///
/// - A receipt is recorded and the next document follows.
/// - A `.retryable` failure is recorded with the next attempt after a backoff (`FiscalOutboxSettings`)
///   and the outbox **stops there**: no later document is sent before this one has a receipt or a
///   permanent refusal, so the sales made offline go out in the order they were made once the
///   register is reachable again. The backoff counts the head document's consecutive failures in
///   memory; after a restart it starts again from the first wait.
/// - A `.permanent` failure is recorded with the next attempt after `permanentRetry` and the next
///   document follows.
///
/// The first pass after the outbox starts takes the oldest pending documents whether or not
/// their next attempt is due (it asks the queue for documents due at the end of the supported
/// range), because a hold from before a restart is not remembered: the document that was held
/// is tried first again rather than being overtaken by a later one that is due.
///
/// `signal()` (after each sale or refund) wakes the outbox at once unless it is holding for a
/// retry; otherwise it looks at the queue every `pollInterval`. A graceful shutdown lets the
/// document in flight finish (the register's own timeout bounds it) and takes no new one;
/// cancellation abandons it, which is safe: the document is sent again with the same external
/// check number after the restart.
///
/// Metrics: `edgenode_fiscal_fiscalised_total`, `edgenode_fiscal_failures_total{kind=retryable|permanent}`.
/// Logs carry document ids and check numbers only.
public final class FiscalOutbox: Service, Sendable {
    /// What a pass over the queue ended with.
    public enum Outcome: Sendable, Hashable {
        /// Nothing is due any more.
        case idle
        /// The head document failed retryably: nothing is sent before `until`.
        case holding(documentID: String, until: Instant)
    }

    private let queue: any FiscalQueue
    private let register: any FiscalRegister
    private let settings: FiscalOutboxSettings
    private let logger: Logger
    private let now: @Sendable () -> Instant
    private let metrics: any MetricsFactory
    private let wakeup = Wakeup()
    private let state = Mutex(State())

    private struct State {
        /// The head document's consecutive retryable failures and when it is tried again.
        var hold: (documentID: String, failures: Int, until: Instant)?
        /// Whether the first pass (which ignores when documents are due) has run.
        var sweptAtStart = false
    }

    /// - Parameters:
    ///   - queue: the documents waiting for a receipt (the money component's, over the replica).
    ///   - register: the fiscal register adapter (e.g. `WebkassaRegister`).
    ///   - now: the clock the attempts are scheduled with (the system's in production).
    ///   - metrics: where the counters go (the process's metrics system in production).
    public init(queue: any FiscalQueue, register: any FiscalRegister, settings: FiscalOutboxSettings = FiscalOutboxSettings(),
                logger: Logger, now: @escaping @Sendable () -> Instant = FiscalOutbox.systemNow,
                metrics: any MetricsFactory = MetricsSystem.factory) {
        self.metrics = metrics
        self.queue = queue
        self.register = register
        self.settings = settings
        self.logger = logger
        self.now = now
    }

    /// The system clock as an `Instant`.
    public static let systemNow: @Sendable () -> Instant = { Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) }

    /// Tells the outbox that a new document may be waiting (call it after each sale or refund).
    public func signal() { wakeup.signal() }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let outcome = await drain(now: now())
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            let wait: Duration
            switch outcome {
            case .idle: wait = settings.pollInterval
            case .holding(_, let until): wait = .milliseconds(max(until.milliseconds - now().milliseconds, 0))
            }
            let wakeup = self.wakeup
            await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await wakeup.wait() }
                    group.addTask { try? await Task.sleep(for: wait) }
                    await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// One pass: sends the due documents in order until none is left or one fails retryably.
    /// `run()` calls it; tests call it with a clock of their own.
    public func drain(now start: Instant) async -> Outcome {
        if let hold = state.withLock({ $0.hold }), start < hold.until {
            return .holding(documentID: hold.documentID, until: hold.until)
        }
        var dueAt = state.withLock { $0.sweptAtStart } ? start : Instant.supportedRange.upperBound
        while true {
            let documents: [FiscalDocument]
            do {
                documents = try await queue.dueFiscalDocuments(now: dueAt, limit: settings.batchLimit)
            } catch {
                logger.error("cannot read the fiscal queue", metadata: ["error": "\(error)"])
                return hold(nil, failures: 1)
            }
            state.withLock { $0.sweptAtStart = true }
            dueAt = start
            for document in documents {
                // A graceful shutdown lets the document in flight finish and takes no new one.
                if Task.isCancelled || Task.isShuttingDownGracefully { return .idle }
                if let held = await send(document) { return held }
            }
            if documents.count < settings.batchLimit { return .idle }
        }
    }

    /// Sends one document and records the answer; the outcome when the pass must stop here.
    private func send(_ document: FiscalDocument) async -> Outcome? {
        let failure: FiscalRegisterError
        do {
            let receipt = try await register.register(document)
            do {
                try await queue.recordFiscalReceipt(receipt, for: document.id)
            } catch {
                // The register holds the check: the next attempt gets it again (error 14 for Webkassa).
                logger.error("cannot record a fiscal receipt", metadata: ["fiscal.document": "\(document.id)", "error": "\(error)"])
                return hold(document.id, failures: failuresOfHead(document.id) + 1)
            }
            state.withLock { if $0.hold?.documentID == document.id { $0.hold = nil } }
            Counter(label: "edgenode_fiscal_fiscalised_total", factory: metrics).increment()
            logger.info("document fiscalised", metadata: ["fiscal.document": "\(document.id)", "fiscal.check": "\(receipt.checkNumber)"])
            return nil
        } catch let error as FiscalRegisterError {
            failure = error
        } catch is CancellationError {
            return .idle
        } catch {
            failure = FiscalRegisterError(.retryable, "\(error)")
        }
        Counter(label: "edgenode_fiscal_failures_total", dimensions: [("kind", failure.kind.rawValue)], factory: metrics).increment()
        switch failure.kind {
        case .retryable:
            let failures = failuresOfHead(document.id) + 1
            let until = now().adding(milliseconds: Self.milliseconds(settings.retryDelay(afterFailures: failures)))
            logger.notice("fiscal register unavailable; holding the queue", metadata: [
                "fiscal.document": "\(document.id)", "fiscal.failures": "\(failures)", "fiscal.retry_at": "\(until)", "fiscal.error": "\(failure.message)",
            ])
            await record(failure, document.id, retryAt: until)
            state.withLock { $0.hold = (document.id, failures, until) }
            return .holding(documentID: document.id, until: until)
        case .permanent:
            let retryAt = now().adding(milliseconds: Self.milliseconds(settings.permanentRetry))
            logger.warning("fiscal register refused a document", metadata: [
                "fiscal.document": "\(document.id)", "fiscal.retry_at": "\(retryAt)", "fiscal.error": "\(failure.message)",
            ])
            guard await record(failure, document.id, retryAt: retryAt) else {
                // Still due in the queue: hold rather than send it again at once.
                return hold(document.id, failures: 1)
            }
            state.withLock { if $0.hold?.documentID == document.id { $0.hold = nil } }
            return nil
        }
    }

    /// Records a failed attempt; false (logged) if the queue could not record it.
    @discardableResult
    private func record(_ failure: FiscalRegisterError, _ documentID: String, retryAt: Instant) async -> Bool {
        do {
            try await queue.recordFiscalFailure(failure, for: documentID, retryAt: retryAt)
            return true
        } catch {
            logger.error("cannot record a fiscal failure", metadata: ["fiscal.document": "\(documentID)", "error": "\(error)"])
            return false
        }
    }

    private func failuresOfHead(_ documentID: String) -> Int {
        state.withLock { $0.hold?.documentID == documentID ? $0.hold!.failures : 0 }
    }

    /// Holds the queue after a failure that is not the register's (the queue itself failed).
    private func hold(_ documentID: String?, failures: Int) -> Outcome {
        let until = now().adding(milliseconds: Self.milliseconds(settings.retryDelay(afterFailures: failures)))
        let id = documentID ?? ""
        state.withLock { $0.hold = (id, failures, until) }
        return .holding(documentID: id, until: until)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// A wake-up call that is remembered until someone waits for it: `signal()` before `wait()`
/// makes the next `wait()` return at once; several signals before it count as one.
final class Wakeup: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled (or already signalled since the last wait), or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
