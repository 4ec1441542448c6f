import Domain
import FiscalWebkassa
import Foundation
import Logging
import OutboundHTTP
import Synchronization
import TestSupport

/// An in-memory `FiscalQueue`: documents in the order they were made, each with its next
/// attempt, its receipt and its recorded failures.
actor MemoryFiscalQueue: FiscalQueue {
    struct Entry {
        var document: FiscalDocument
        var retryAt: Instant
        var receipt: FiscalReceipt?
        var failures: [(FiscalRegisterError, Instant)] = []
    }

    private(set) var entries: [Entry] = []

    func add(_ document: FiscalDocument, dueAt: Instant) {
        entries.append(Entry(document: document, retryAt: dueAt))
    }

    /// Sets a document's next attempt (a queue left by an earlier run of the outbox).
    func setRetry(_ id: String, at instant: Instant, after error: FiscalRegisterError) {
        guard let index = entries.firstIndex(where: { $0.document.id == id }) else { return }
        entries[index].retryAt = instant
        entries[index].failures.append((error, instant))
    }

    func dueFiscalDocuments(now: Instant, limit: Int) async throws -> [FiscalDocument] {
        Array(entries.filter { $0.receipt == nil && $0.retryAt <= now }.prefix(limit).map(\.document))
    }

    func recordFiscalReceipt(_ receipt: FiscalReceipt, for documentID: String) async throws {
        guard let index = entries.firstIndex(where: { $0.document.id == documentID }) else { return }
        entries[index].receipt = receipt
    }

    func recordFiscalFailure(_ error: FiscalRegisterError, for documentID: String, retryAt: Instant) async throws {
        guard let index = entries.firstIndex(where: { $0.document.id == documentID }) else { return }
        entries[index].retryAt = retryAt
        entries[index].failures.append((error, retryAt))
    }

    func receipt(_ id: String) -> FiscalReceipt? { entries.first { $0.document.id == id }?.receipt }
    func failures(_ id: String) -> [(FiscalRegisterError, Instant)] { entries.first { $0.document.id == id }?.failures ?? [] }
    func retryAt(_ id: String) -> Instant? { entries.first { $0.document.id == id }?.retryAt }
}

/// A `FiscalRegister` that answers from a script and remembers what it was asked.
final class ScriptedRegister: FiscalRegister, Sendable {
    let name = "scripted"
    private let state = Mutex<(calls: [String], script: [String: [FiscalRegisterError]])>(([], [:]))

    /// The next answers for `documentID`: failures first, then receipts.
    func fail(_ documentID: String, with errors: [FiscalRegisterError]) {
        state.withLock { $0.script[documentID, default: []] += errors }
    }

    var calls: [String] { state.withLock { $0.calls } }

    func register(_ document: FiscalDocument) async throws -> FiscalReceipt {
        let failure = state.withLock { state -> FiscalRegisterError? in
            state.calls.append(document.id)
            guard var errors = state.script[document.id], !errors.isEmpty else { return nil }
            let first = errors.removeFirst()
            state.script[document.id] = errors
            return first
        }
        if let failure { throw failure }
        return FiscalReceipt(checkNumber: "R-\(document.id)", url: "https://ofd.test/\(document.id)", shift: "1", register: name)
    }
}

enum Documents {
    static let created = Instant(iso8601: "2026-12-07T10:00:00Z")!

    /// A sale: a haircut with 12 % VAT and a discount, a shampoo without VAT, paid in cash and by card.
    static func sale(_ id: String) -> FiscalDocument {
        FiscalDocument(id: id, kind: .sale, currency: "KZT", lines: [
            .init(name: "Стрижка женская", quantity: 1, unitPriceMinor: 800_000, discountMinor: 50_050, totalMinor: 749_950,
                  taxRateBasisPoints: 1200, taxMinor: 80_352),
            .init(name: "Shampoo \"Argan\"", quantity: 2, unitPriceMinor: 150_025, discountMinor: 0, totalMinor: 300_050,
                  taxRateBasisPoints: nil, taxMinor: 0),
        ], payments: [
            .init(method: .cash, amountMinor: 50_000),
            .init(method: .card, amountMinor: 1_000_000),
        ], totalMinor: 1_050_000, createdAt: created)
    }

    /// A refund of a shampoo through Kaspi QR.
    static func refund(_ id: String) -> FiscalDocument {
        FiscalDocument(id: id, kind: .refund, currency: "KZT", lines: [
            .init(name: "Shampoo \"Argan\"", quantity: 1, unitPriceMinor: 150_025, discountMinor: 0, totalMinor: 150_025,
                  taxRateBasisPoints: nil, taxMinor: 0),
        ], payments: [.init(method: .electronic, amountMinor: 150_025)], totalMinor: 150_025, createdAt: created)
    }
}

/// The adapter under test against a fake, over a client of its own.
struct WebkassaUnderTest {
    let fake: FakeWebkassa
    let http: HTTPClientOutbound
    let register: WebkassaRegister

    init(timeout: Duration = .seconds(20)) async throws {
        fake = try await FakeWebkassa()
        http = HTTPClientOutbound(logger: Logger(label: "test.http", factory: { _ in SwiftLogNoOpLogHandler() }))
        let settings = WebkassaSettings(url: fake.url, apiKey: fake.apiKey, login: fake.login, password: fake.password, cashbox: fake.cashbox,
                                        requestTimeout: timeout)
        register = try WebkassaRegister(configuration: settings, http: http, logger: Logger(label: "test.webkassa"))
    }

    func stop() async {
        try? await http.shutdown()
        fake.stop()
    }
}

/// A `FiscalRegister` whose answer for a document waits until the test lets it go.
final class GatedRegister: FiscalRegister, Sendable {
    let name = "gated"
    private let state = Mutex<(calls: [String], isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>(([], false, []))

    var calls: [String] { state.withLock { $0.calls } }

    /// Lets every waiting and later call answer.
    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func register(_ document: FiscalDocument) async throws -> FiscalReceipt {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isOpen = state.withLock { state -> Bool in
                state.calls.append(document.id)
                if !state.isOpen { state.waiters.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
        return FiscalReceipt(checkNumber: "G-\(document.id)", url: "https://ofd.test/\(document.id)", shift: "1", register: name)
    }
}
