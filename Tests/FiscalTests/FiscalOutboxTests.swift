import Domain
@testable import FiscalOutbox
import FiscalWebkassa
import Foundation
import Logging
import MetricsTestKit
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing
import TestSupport

/// The fiscal outbox over an in-memory queue, with the real Webkassa adapter against the fake or
/// with a scripted register. Its clock is a `TestClock`: backoffs are computed, never slept.
@Suite struct FiscalOutboxTests {
    let logger = Logger(label: "test.fiscal-outbox")

    @Test func theBackoffDoublesFromFiveSecondsToTenMinutes() {
        let settings = FiscalOutboxSettings()
        #expect((1...10).map { settings.retryDelay(afterFailures: $0) } == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600].map { Duration.seconds($0) })
    }

    /// Sales made while the register is unreachable wait, the first one holding the rest, and go
    /// out in the order they were made once it is back.
    @Test func salesMadeOfflineGoOutInOrderOnceTheRegisterIsBack() async throws {
        let box = try await WebkassaUnderTest()
        do {
            let clock = TestClock()
            let queue = MemoryFiscalQueue()
            let outbox = FiscalOutbox(queue: queue, register: box.register, logger: logger, now: { clock.now })
            try await box.fake.setOffline(true)
            let ids = (1...4).map { "0193a000-0000-7000-8000-0000000001\(String(format: "%02d", $0))" }
            for (index, id) in ids.enumerated() {
                await queue.add(index == 2 ? Documents.refund(id) : Documents.sale(id), dueAt: clock.now)
            }

            // Offline: the first document fails and holds the others, with a growing wait.
            #expect(await outbox.drain(now: clock.now) == .holding(documentID: ids[0], until: clock.now.adding(milliseconds: 5_000)))
            #expect(await outbox.drain(now: clock.now.adding(milliseconds: 4_999)) == .holding(documentID: ids[0], until: clock.now.adding(milliseconds: 5_000)))
            clock.advance(milliseconds: 5_000)
            #expect(await outbox.drain(now: clock.now) == .holding(documentID: ids[0], until: clock.now.adding(milliseconds: 10_000)))
            #expect(await queue.failures(ids[0]).count == 2)
            for id in ids.dropFirst() { #expect(await queue.failures(id).isEmpty) }

            // Back online: everything goes, in order.
            try await box.fake.setOffline(false)
            clock.advance(milliseconds: 10_000)
            #expect(await outbox.drain(now: clock.now) == .idle)
            let checks = try await box.fake.checks()
            #expect(checks.map(\.externalCheckNumber) == ids)
            #expect(checks.map(\.operationType) == [2, 2, 3, 2])
            for (id, check) in zip(ids, checks) { #expect(await queue.receipt(id)?.checkNumber == check.checkNumber) }
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    /// A document whose check timed out after Webkassa took it is sent again by the outbox and
    /// fiscalised once; the one after it waits until then.
    @Test func aTimedOutCheckIsRetriedByTheOutboxAndFiscalisedOnce() async throws {
        let box = try await WebkassaUnderTest(timeout: .seconds(3))
        do {
            let clock = TestClock()
            let queue = MemoryFiscalQueue()
            let outbox = FiscalOutbox(queue: queue, register: box.register, logger: logger, now: { clock.now })
            let first = "0193a000-0000-7000-8000-000000000201", second = "0193a000-0000-7000-8000-000000000202"
            await queue.add(Documents.sale(first), dueAt: clock.now)
            await queue.add(Documents.sale(second), dueAt: clock.now)
            try await box.fake.failNextChecks(.hang, hangSeconds: 15)
            #expect(await outbox.drain(now: clock.now) == .holding(documentID: first, until: clock.now.adding(milliseconds: 5_000)))
            #expect(try await box.fake.checks().map(\.externalCheckNumber) == [first])
            clock.advance(milliseconds: 5_000)
            #expect(await outbox.drain(now: clock.now) == .idle)
            let checks = try await box.fake.checks()
            #expect(checks.map(\.externalCheckNumber) == [first, second])
            #expect(await queue.receipt(first)?.checkNumber == checks[0].checkNumber)
            #expect(await queue.receipt(second)?.checkNumber == checks[1].checkNumber)
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    /// While the head document is retrying, a later one that is due is not sent.
    @Test func aRetryingDocumentIsNotOvertaken() async throws {
        let clock = TestClock()
        let queue = MemoryFiscalQueue()
        let register = ScriptedRegister()
        let metrics = TestMetrics()
        let outbox = FiscalOutbox(queue: queue, register: register, logger: logger, now: { clock.now }, metrics: metrics)
        register.fail("a", with: Array(repeating: FiscalRegisterError(.retryable, "offline"), count: 3))
        await queue.add(Documents.sale("a"), dueAt: clock.now)
        await queue.add(Documents.sale("b"), dueAt: clock.now)

        var expectedWaits: [Int64] = []
        for failures in 1...3 {
            let outcome = await outbox.drain(now: clock.now)
            let wait = FiscalOutbox.milliseconds(FiscalOutboxSettings().retryDelay(afterFailures: failures))
            expectedWaits.append(wait)
            #expect(outcome == .holding(documentID: "a", until: clock.now.adding(milliseconds: wait)))
            #expect(await queue.retryAt("a") == clock.now.adding(milliseconds: wait))
            // "b" is due, and yet not sent.
            await queue.add(Documents.sale("c\(failures)"), dueAt: clock.now)
            clock.advance(milliseconds: wait)
        }
        #expect(expectedWaits == [5_000, 10_000, 20_000])
        #expect(register.calls == ["a", "a", "a"])
        #expect(await outbox.drain(now: clock.now) == .idle)
        #expect(register.calls == ["a", "a", "a", "a", "b", "c1", "c2", "c3"])
        #expect(metrics.counterTotal(label: "edgenode_fiscal_failures_total", dimensions: [("kind", "retryable")]) == 3)
        #expect(metrics.counterTotal(label: "edgenode_fiscal_fiscalised_total") == 5)
    }

    /// A document the register refuses is recorded with the long retry and the rest go on.
    @Test func aPermanentRefusalDoesNotBlockTheRest() async throws {
        let clock = TestClock()
        let queue = MemoryFiscalQueue()
        let register = ScriptedRegister()
        let metrics = TestMetrics()
        let outbox = FiscalOutbox(queue: queue, register: register, logger: logger, now: { clock.now }, metrics: metrics)
        register.fail("a", with: [FiscalRegisterError(.permanent, "Webkassa refused the check (error 9: bad name)")])
        await queue.add(Documents.sale("a"), dueAt: clock.now)
        await queue.add(Documents.sale("b"), dueAt: clock.now)
        #expect(await outbox.drain(now: clock.now) == .idle)
        #expect(register.calls == ["a", "b"])
        #expect(await queue.receipt("a") == nil)
        #expect(await queue.failures("a").map(\.0.kind) == [.permanent])
        #expect(await queue.retryAt("a") == clock.now.adding(milliseconds: 24 * 3_600_000))
        #expect(await queue.receipt("b")?.checkNumber == "R-b")
        #expect(metrics.counterTotal(label: "edgenode_fiscal_fiscalised_total") == 1)
        #expect(metrics.counterTotal(label: "edgenode_fiscal_failures_total", dimensions: [("kind", "permanent")]) == 1)
    }

    /// After a restart the hold is forgotten, so the first pass takes the oldest pending documents
    /// whether or not they are due: the document that was retrying goes before a later one.
    @Test func afterARestartTheDocumentThatWasRetryingGoesFirst() async throws {
        let clock = TestClock()
        let queue = MemoryFiscalQueue()
        let register = ScriptedRegister()
        await queue.add(Documents.sale("a"), dueAt: clock.now)
        await queue.add(Documents.sale("b"), dueAt: clock.now)
        // The previous run recorded a retryable failure of "a" due in ten minutes.
        await queue.setRetry("a", at: clock.now.adding(minutes: 10), after: FiscalRegisterError(.retryable, "offline"))
        let outbox = FiscalOutbox(queue: queue, register: register, logger: logger, now: { clock.now })
        #expect(await outbox.drain(now: clock.now) == .idle)
        #expect(register.calls == ["a", "b"])
    }

    /// `signal()` wakes the running outbox long before its poll; a graceful shutdown stops it.
    @Test func aSignalWakesTheOutboxAndAGracefulShutdownStopsIt() async throws {
        let queue = MemoryFiscalQueue()
        let register = ScriptedRegister()
        var settings = FiscalOutboxSettings()
        settings.pollInterval = .seconds(3600)
        let outbox = FiscalOutbox(queue: queue, register: register, settings: settings, logger: logger)
        let group = ServiceGroup(services: [outbox], logger: logger)
        let running = Task { try await group.run() }
        do {
            // The first pass takes what is there; the outbox then waits for an hour or a signal.
            await queue.add(Documents.sale("first"), dueAt: FiscalOutbox.systemNow())
            try await eventually("the outbox's first pass", timeout: .seconds(180)) { await queue.receipt("first") != nil }
            await queue.add(Documents.sale("a"), dueAt: FiscalOutbox.systemNow())
            outbox.signal()
            try await eventually("the signalled document fiscalised", timeout: .seconds(180)) { await queue.receipt("a") != nil }
            await queue.add(Documents.sale("b"), dueAt: FiscalOutbox.systemNow())
            outbox.signal()
            try await eventually("the second signalled document fiscalised", timeout: .seconds(180)) { await queue.receipt("b") != nil }
            await group.triggerGracefulShutdown()
            try await withTimeout(.seconds(60), "the outbox stopping on a graceful shutdown") { try await running.value }
        } catch {
            running.cancel()
            throw error
        }
        #expect(register.calls == ["first", "a", "b"])
    }
}

extension FiscalOutboxTests {
    /// A graceful shutdown lets the document in flight get its receipt and sends no further one.
    @Test func aGracefulShutdownFinishesTheDocumentInFlightAndTakesNoOther() async throws {
        let queue = MemoryFiscalQueue()
        let register = GatedRegister()
        await queue.add(Documents.sale("a"), dueAt: FiscalOutbox.systemNow())
        await queue.add(Documents.sale("b"), dueAt: FiscalOutbox.systemNow())
        let outbox = FiscalOutbox(queue: queue, register: register, logger: logger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await outbox.run() }
                defer { register.open() }
                try await eventually("the first document in flight", timeout: .seconds(60)) { register.calls == ["a"] }
                trigger.triggerGracefulShutdown()
                register.open()
                tasks.addTask {
                    try await Task.sleep(for: .seconds(60))
                    throw TimeoutError(what: "the outbox stopping on a graceful shutdown")
                }
                try await tasks.next()
                tasks.cancelAll()
            }
        }
        #expect(register.calls == ["a"])
        #expect(await queue.receipt("a")?.checkNumber == "G-a")
        #expect(await queue.receipt("b") == nil)
    }
}
