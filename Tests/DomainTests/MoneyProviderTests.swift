import Foundation
import Replication
import Synchronization
import Testing

@testable import Domain
import TestSupport

/// A scripted QR gateway (the port's contract; the real adapter is tested against the relay and a
/// fake Kaspi server speaking Kaspi's protocol in EdgeNodeAppTests).
final class ScriptedGateway: QRPaymentGateway, @unchecked Sendable {
    let lock = NSLock()
    var creates: [String] = []
    var statuses: [QRPaymentStatus] = []
    var failNext: QRGatewayError?
    var refunds: [(String, Int64)] = []
    var available: Int64 = .max

    func take<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            if let error = failNext {
                failNext = nil
                throw error
            }
            return try body()
        }
    }

    func createQR(paymentID: String, amount: Money) async throws -> QRInvoice {
        try take {
            creates.append(paymentID)
            return QRInvoice(providerPaymentID: "qr-\(paymentID.suffix(6))", qrToken: "https://pay.kaspi.kz/pay/\(paymentID.suffix(6))",
                             expiresAt: Instant(milliseconds: 1_800_000_000_000), pollIntervalSeconds: 5, scanTimeoutSeconds: 180, confirmationTimeoutSeconds: 65)
        }
    }

    func status(providerPaymentID: String) async throws -> QRPaymentStatus {
        try take { statuses.isEmpty ? .waiting : statuses.removeFirst() }
    }

    func refundable(providerPaymentID: String) async throws -> QRRefundable {
        try take { QRRefundable(total: Money(amountMinor: 0, currency: "KZT"), available: Money(amountMinor: available, currency: "KZT")) }
    }

    func refund(providerPaymentID: String, amount: Money, refundID: String) async throws -> QRRefundResult {
        try take {
            refunds.append((refundID, amount.amountMinor))
            return QRRefundResult(providerReference: "r")
        }
    }
}

@Suite("Money: Kaspi QR payments through the gateway port, and the fiscal queue")
struct MoneyProviderTests {
    @Test("a Kaspi QR payment is pending, gets its QR, is polled at the interval Kaspi gave, and settles; no answer leaves it pending and asks again")
    func qrLifecycle() async throws {
        let m = try MoneyFixture()
        let gateway = ScriptedGateway()
        let processor = QRPaymentProcessor(payments: m.shop.money, gateway: gateway)
        let sale = try m.checkout([try m.visit()], payments: [PaymentRequest(method: .kaspiQR, amountMinor: 1_000_000)])
        let id = sale.payments[0].id
        #expect(sale.payments[0].status == .pending && sale.state == .due)
        // The gateway is down: the payment stays pending, with the reason, and is due again later.
        gateway.failNext = QRGatewayError(.unreachable, "relay unreachable")
        _ = try await processor.runDue()
        #expect(try m.shop.payment(id).qrError == "relay unreachable")
        #expect(try m.shop.payment(id).status == .pending)
        // A second QR for the same due amount is refused while the first is pending.
        #expect { try m.shop.takePayment(sale.id, PaymentRequest(method: .kaspiQR, amountMinor: 1_000_000), actor: manager) } throws: {
            ($0 as? DomainError)?.code == .overpayment
        }
        m.f.clock.advance(milliseconds: 5000)
        _ = try await processor.runDue()
        #expect(gateway.creates == [id.rawValue])
        #expect(try m.shop.payment(id).qr?.qrToken.hasPrefix("https://pay.kaspi.kz/") == true)
        // Not due before the polling interval.
        _ = try await processor.runDue()
        #expect(gateway.lock.withLock { gateway.statuses.count } == 0)
        gateway.statuses = [.waiting, .processed]
        m.f.clock.advance(milliseconds: 5000)
        _ = try await processor.runDue()
        #expect(try m.shop.payment(id).status == .pending)
        m.f.clock.advance(milliseconds: 5000)
        _ = try await processor.runDue()
        #expect(try m.shop.payment(id).status == .settled)
        #expect(try m.shop.sale(sale.id).state == .paid)
        #expect(try m.shop.qrTasks().isEmpty)
    }

    @Test("a cancelled QR stays pending until Kaspi answers; a Kaspi refund checks the refundable amount and is done once, by the box")
    func cancelAndRefund() async throws {
        let m = try MoneyFixture()
        let gateway = ScriptedGateway()
        let processor = QRPaymentProcessor(payments: m.shop.money, gateway: gateway)
        let sale = try m.checkout([try m.visit()], payments: [PaymentRequest(method: .kaspiQR, amountMinor: 1_000_000)])
        let first = sale.payments[0].id
        _ = try await processor.runDue()
        _ = try m.shop.cancelQR(first, actor: desk)
        #expect(try m.shop.payment(first).status == .pending)
        #expect(try m.shop.payment(first).cancelRequested)
        // Cancelled: the due amount is free again for another way of paying.
        let second = try m.shop.takePayment(sale.id, PaymentRequest(method: .kaspiQR, amountMinor: 1_000_000), actor: desk).id
        gateway.statuses = [.failed(reason: "expired")]
        m.f.clock.advance(milliseconds: 5000)
        _ = try await processor.runDue()
        #expect(try m.shop.payment(first).status == .failed)
        #expect(try m.shop.payment(first).failureReason == "expired")
        gateway.statuses = [.processed]
        m.f.clock.advance(milliseconds: 5000)
        _ = try await processor.runDue()
        m.f.clock.advance(milliseconds: 5000)
        _ = try await processor.runDue()
        #expect(try m.shop.payment(second).status == .settled)
        let refund = try m.shop.refund(second, amountMinor: 300_000, reason: "partly", refundID: .generate(at: m.shop.now), online: true, actor: manager)
        #expect(refund.status == .pending)
        gateway.available = 200_000
        _ = try await processor.runDue()
        #expect(try m.shop.payment(refund.id).status == .failed)
        #expect(gateway.refunds.isEmpty)
        gateway.available = 1_000_000
        let again = try m.shop.refund(second, amountMinor: 300_000, reason: "partly", refundID: .generate(at: m.shop.now), online: true, actor: manager)
        _ = try await processor.runDue()
        #expect(try m.shop.payment(again.id).status == .settled)
        #expect(gateway.refunds.map(\.0) == [again.id.rawValue])
        #expect(try m.shop.sale(sale.id).paidMinor == 700_000)
    }

    @Test("with a fiscal register, a paid sale and a refund queue in order; a retry keeps its place; a permanent refusal does not block; a receipt ends it")
    func fiscalQueue() throws {
        let m = try MoneyFixture()
        _ = try m.shop.openDrawer(branch: m.f.branchID, floatMinor: 0, actor: manager)
        func sale(_ payments: [PaymentRequest]) throws -> Sale {
            try m.shop.checkout(CheckoutRequest(branchID: m.f.branchID, appointmentIDs: [try m.visit()], payments: payments), actor: manager, fiscalRequired: true)
        }
        let unpaid = try sale([])
        #expect(unpaid.fiscal == .pending)
        #expect(try m.shop.dueFiscalDocuments(now: m.shop.now, limit: 10).isEmpty)
        let a = try sale([PaymentRequest(method: .cash, amountMinor: 600_000), PaymentRequest(method: .card, amountMinor: 400_000)])
        let b = try sale([PaymentRequest(method: .kaspiStatic, amountMinor: 1_000_000)])
        let refund = try m.shop.refund(a.payments[0].id, amountMinor: 100_000, reason: "r", refundID: .generate(at: m.shop.now), online: true, actor: manager)
        var due = try m.shop.dueFiscalDocuments(now: m.shop.now, limit: 10)
        #expect(due.map(\.id) == [a.id.rawValue, b.id.rawValue, refund.id.rawValue])
        #expect(due[0].payments == [.init(method: .cash, amountMinor: 600_000), .init(method: .card, amountMinor: 400_000)])
        #expect(due[0].lines.map(\.totalMinor).reduce(0, +) == due[0].totalMinor)
        #expect(due[2].kind == .refund && due[2].totalMinor == 100_000)
        // A retryable failure of the first keeps everything behind it waiting.
        try m.shop.recordFiscalFailure(FiscalRegisterError(.retryable, "offline"), for: a.id.rawValue, retryAt: m.shop.now.adding(milliseconds: 10_000))
        #expect(try m.shop.dueFiscalDocuments(now: m.shop.now, limit: 10).isEmpty)
        // A permanent refusal does not block the rest.
        try m.shop.recordFiscalFailure(FiscalRegisterError(.permanent, "bad position"), for: a.id.rawValue, retryAt: m.shop.now.adding(milliseconds: 3_600_000))
        due = try m.shop.dueFiscalDocuments(now: m.shop.now, limit: 10)
        #expect(due.map(\.id) == [b.id.rawValue, refund.id.rawValue])
        #expect(try m.shop.sale(a.id).fiscal == .failed)
        try m.shop.recordFiscalReceipt(FiscalReceipt(checkNumber: "1001", url: "https://ofd.example/1001", shift: "7", register: "webkassa"), for: b.id.rawValue)
        let done = try m.shop.sale(b.id)
        #expect(done.fiscal == .done && done.fiscalReceipt?.checkNumber == "1001")
        #expect(try m.shop.dueFiscalDocuments(now: m.shop.now, limit: 10).map(\.id) == [refund.id.rawValue])
        // The X report lists what is not fiscalised.
        #expect(Set(try m.shop.xReport().unfiscalised.map(\.saleID)) == [unpaid.id, a.id])
    }
}
