import Domain
import FiscalOutbox
import Logging
import ServiceLifecycle
import Synchronization

/// A wake-up for a service that otherwise sleeps until its next due time: `signal()` from any
/// thread; `wait(until:)` returns at the signal or the deadline, whichever comes first.
final class WakeSignal: Sendable {
    private let state = Mutex<(pending: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiting = state.continuation {
                state.continuation = nil
                return waiting
            }
            state.pending = true
            return nil
        }
        continuation?.resume()
    }

    /// Waits for a signal (one that came since the last wait counts) or `timeout`, whichever is first.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        if Task.isCancelled { return true }
                        state.continuation = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // Whichever finished first, the waiting child must not stay parked.
            let parked = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.continuation = nil }
                return state.continuation
            }
            parked?.resume()
        }
    }
}

/// Follows this box's pending Kaspi QR payments and refunds through the gateway
/// (`QRPaymentProcessor`) until each ends in one definite state; wakes on new work.
struct QRPaymentService: Service {
    let processor: QRPaymentProcessor
    let wake: WakeSignal
    let shop: Shop
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var delay = Duration.seconds(30)
                do {
                    if let next = try await processor.runDue() {
                        let milliseconds = max(50, min(30_000, next.milliseconds - shop.now.milliseconds))
                        delay = .milliseconds(milliseconds)
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("following Kaspi QR payments failed; trying again", metadata: ["error": "\(error)"])
                    delay = .seconds(5)
                }
                await wake.wait(timeout: delay)
            }
        }
    }
}

/// The running fiscal outbox, if any: the API wakes it after each sale and refund.
final class FiscalOutboxSlot: Sendable {
    private let outbox = Mutex<FiscalOutbox?>(nil)

    func set(_ value: FiscalOutbox) { outbox.withLock { $0 = value } }

    func signal() { outbox.withLock { $0 }?.signal() }
}
