import Domain
@testable import FiscalWebkassa
import Foundation
import Logging
import OutboundHTTP
import Testing
import TestSupport

/// The Webkassa adapter against the fake Webkassa on loopback (docs/fiscal.md).
@Suite struct WebkassaTests {
    @Test func saleAndRefundAreRegisteredWithTheirPositionsPaymentsAndAmounts() async throws {
        let box = try await WebkassaUnderTest()
        do {
            let sale = try await box.register.register(Documents.sale("0193a000-0000-7000-8000-000000000001"))
            let refund = try await box.register.register(Documents.refund("0193a000-0000-7000-8000-000000000002"))
            let checks = try await box.fake.checks()
            #expect(checks.count == 2)
            #expect(sale == FiscalReceipt(checkNumber: checks[0].checkNumber, url: checks[0].ticketURL, shift: "1", register: "webkassa"))
            #expect(refund.checkNumber == checks[1].checkNumber)
            #expect(!sale.url.isEmpty && sale.checkNumber != refund.checkNumber)

            #expect(checks[0].externalCheckNumber == "0193a000-0000-7000-8000-000000000001")
            #expect(checks[0].operationType == 2)
            #expect(checks[0].total == "10500.00")
            #expect(checks[0].positions == [
                ["Count": "1", "Price": "8000.00", "TaxPercent": "12", "Tax": "803.52", "TaxType": "100", "PositionName": "Стрижка женская",
                 "UnitCode": "796", "Discount": "500.50", "Markup": "0"],
                ["Count": "2", "Price": "1500.25", "TaxPercent": "0", "Tax": "0.00", "TaxType": "0", "PositionName": "Shampoo \"Argan\"",
                 "UnitCode": "796", "Discount": "0.00", "Markup": "0"],
            ])
            #expect(checks[0].payments == [["Sum": "500.00", "PaymentType": "0"], ["Sum": "10000.00", "PaymentType": "1"]])

            #expect(checks[1].externalCheckNumber == "0193a000-0000-7000-8000-000000000002")
            #expect(checks[1].operationType == 3)
            #expect(checks[1].payments == [["Sum": "1500.25", "PaymentType": "4"]])
            // One session for both checks.
            #expect(try await box.fake.stats()["authorize"] == 1)
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    /// The first `Check` reaches the register, which registers it, but the answer never arrives
    /// (it comes after the client's timeout, or the connection drops): the adapter says
    /// `.retryable`; the retry gets error 14 and answers the check registered the first time.
    @Test(arguments: [FakeWebkassa.CheckFault.hang, .drop], [false, true])
    func aSaleIsFiscalisedOnceWhenTheAnswerIsLostAfterTheRegisterAcceptedIt(fault: FakeWebkassa.CheckFault, duplicateWithData: Bool) async throws {
        // A timeout that a loaded machine's Authorize still meets, and a hang well beyond it.
        let box = try await WebkassaUnderTest(timeout: .seconds(3))
        do {
            try await box.fake.setDuplicateAnswersWithData(duplicateWithData)
            try await box.fake.failNextChecks(fault, hangSeconds: 15)
            let sale = Documents.sale("0193a000-0000-7000-8000-00000000000a")
            await #expect { try await box.register.register(sale) } throws: { ($0 as? FiscalRegisterError)?.kind == .retryable }
            // The fake registered it although the adapter never heard.
            #expect(try await box.fake.checks().map(\.externalCheckNumber) == [sale.id])

            let receipt = try await box.register.register(sale)
            let checks = try await box.fake.checks()
            #expect(checks.count == 1)
            #expect(receipt.checkNumber == checks[0].checkNumber)
            #expect(receipt.url == checks[0].ticketURL)
            // Without Data in the error 14 answer, the adapter looked the check up by its external number.
            #expect(try await box.fake.stats()["lookup"] == (duplicateWithData ? 0 : 1))
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    @Test func anExpiredSessionIsAuthorisedAgainAndTheCheckGoesThrough() async throws {
        let box = try await WebkassaUnderTest()
        do {
            _ = try await box.register.register(Documents.sale("0193a000-0000-7000-8000-000000000011"))
            try await box.fake.expireSessions()
            let second = try await box.register.register(Documents.sale("0193a000-0000-7000-8000-000000000012"))
            let checks = try await box.fake.checks()
            #expect(checks.map(\.externalCheckNumber) == ["0193a000-0000-7000-8000-000000000011", "0193a000-0000-7000-8000-000000000012"])
            #expect(second.checkNumber == checks[1].checkNumber)
            #expect(try await box.fake.stats()["authorize"] == 2)
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    /// A refusal of the document itself (validation, 9, or a code the adapter does not know) is
    /// permanent; a register that cannot take any document now (no open shift, 13; shift over 24
    /// hours, 11; cashbox blocked, 7) is retryable, so that the documents keep their order.
    @Test(arguments: [(9, FiscalRegisterError.Kind.permanent), (42, .permanent), (13, .retryable), (11, .retryable), (7, .retryable)])
    func webkassasRefusalsArePermanentOrRetryableWithWebkassasText(code: Int, kind: FiscalRegisterError.Kind) async throws {
        let box = try await WebkassaUnderTest()
        do {
            try await box.fake.failNextChecks(.refuse, text: "Наименование позиции слишком длинное", code: code)
            await #expect {
                try await box.register.register(Documents.sale("0193a000-0000-7000-8000-000000000021"))
            } throws: { error in
                guard let error = error as? FiscalRegisterError else { return false }
                return error.kind == kind && error.message.contains("Наименование позиции слишком длинное") && error.message.contains("error \(code)")
            }
            #expect(try await box.fake.checks().isEmpty)
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    /// Wrong credentials stop every document alike (retryable), and neither the error nor any log
    /// line shows the password or the API key.
    @Test func wrongCredentialsAreRetryableAndNeverShown() async throws {
        let fake = try await FakeWebkassa()
        let http = HTTPClientOutbound(logger: Logger(label: "test.http", factory: { _ in SwiftLogNoOpLogHandler() }))
        let logs = LogRecorder(minimumLevel: .trace)
        do {
            let settings = WebkassaSettings(url: fake.url, apiKey: fake.apiKey, login: fake.login, password: "wrong-secret-password", cashbox: fake.cashbox)
            let register = try WebkassaRegister(configuration: settings, http: http, logger: logs.logger(label: "test.webkassa"))
            await #expect {
                try await register.register(Documents.sale("0193a000-0000-7000-8000-000000000051"))
            } throws: { error in
                guard let error = error as? FiscalRegisterError else { return false }
                return error.kind == .retryable && error.message.contains("error 1") && !"\(error)".contains("wrong-secret-password")
                    && !"\(error)".contains(fake.apiKey)
            }
            #expect(!logs.recorded.isEmpty)
            #expect(!logs.recorded.contains { $0.contains("wrong-secret-password") || $0.contains(fake.apiKey) })
            #expect(try await fake.checks().isEmpty)
        } catch {
            try? await http.shutdown()
            fake.stop()
            throw error
        }
        try? await http.shutdown()
        fake.stop()
    }

    @Test func aServerErrorOrNoConnectionIsRetryable() async throws {
        let box = try await WebkassaUnderTest()
        do {
            let sale = Documents.sale("0193a000-0000-7000-8000-000000000031")
            try await box.fake.failNextChecks(.error500)
            await #expect { try await box.register.register(sale) } throws: { ($0 as? FiscalRegisterError)?.kind == .retryable }
            try await box.fake.setOffline(true)
            await #expect { try await box.register.register(sale) } throws: { ($0 as? FiscalRegisterError)?.kind == .retryable }
            try await box.fake.setOffline(false)
            let receipt = try await box.register.register(sale)
            #expect(try await box.fake.checks().map(\.checkNumber) == [receipt.checkNumber])
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    /// What Webkassa would refuse however often it is sent is refused before any request.
    @Test func aDocumentWebkassaCannotTakeIsPermanentWithoutARequest() async throws {
        let box = try await WebkassaUnderTest()
        do {
            var dollars = Documents.sale("0193a000-0000-7000-8000-000000000041")
            dollars.currency = "USD"
            var wrongTotal = Documents.sale("0193a000-0000-7000-8000-000000000042")
            wrongTotal.lines[0].totalMinor += 1
            for document in [dollars, wrongTotal] {
                await #expect { try await box.register.register(document) } throws: { ($0 as? FiscalRegisterError)?.kind == .permanent }
            }
            #expect(try await box.fake.stats()["check"] == 0)
        } catch {
            await box.stop()
            throw error
        }
        await box.stop()
    }

    @Test(arguments: [
        (Int64(0), "0.00"), (5, "0.05"), (10, "0.10"), (100, "1.00"), (150_050, "1500.50"), (123_456_789, "1234567.89"), (-5, "-0.05"),
    ])
    func amountsAreExactDecimalTenge(minor: Int64, text: String) {
        #expect(WebkassaProtocol.decimal(minor: minor) == text)
    }

    @Test func theSettingsNeverShowTheSecrets() throws {
        let settings = WebkassaSettings(url: "https://devkkm.webkassa.kz", apiKey: "secret-key-1", login: "a@b.kz", password: "secret-pass-2", cashbox: "SWK1")
        #expect(!"\(settings)".contains("secret"))
        #expect(WebkassaSettings.endpoint(of: "https://devkkm.webkassa.kz/") == .init(host: "devkkm.webkassa.kz", port: 443, usesTLS: true, pathPrefix: ""))
        #expect(WebkassaSettings.endpoint(of: "http://[::1]:8080/wk") == .init(host: "::1", port: 8080, usesTLS: false, pathPrefix: "/wk"))
        #expect(WebkassaSettings.endpoint(of: "devkkm.webkassa.kz") == nil)
        var empty = settings
        empty.password = ""
        #expect(throws: WebkassaSettingsError.self) {
            _ = try WebkassaRegister(configuration: empty, http: HTTPClientOutbound.shared, logger: Logger(label: "test"))
        }
    }
}
