import Domain
import Foundation
import KaspiMerchant
import Logging
import Relay
import Replication
import Synchronization
import Testing
@testable import RelayUplink
import TestSupport

/// A relay in this process (SQLite, real HTTP on loopback) that is a Kaspi gateway to a fake
/// Kaspi, a business with a box enrolled at it, and that box's `RelayKaspiGateway`.
final class KaspiWorld: @unchecked Sendable {
    let fake: FakeKaspi
    let directory = temporaryDirectory("kaspi-relay")
    let owner = SigningKey.generate()
    let box = SigningKey.generate()
    let logs = LogRecorder(minimumLevel: .debug)
    let port = RelayPorts.reserve()
    var business: BusinessID { BusinessID(ownerKey: owner.publicKey) }
    var storagePath: String { directory + "/relay.sqlite" }
    var keyFile: String { directory + "/kaspi.key" }
    private var task: Task<Void, any Error>?
    private var runtime: RelayRuntime<SQLiteRelayStorage>?

    /// The box's gateway to the relay.
    lazy var gateway: RelayKaspiGateway = RelayKaspiGateway(relayURL: "http://127.0.0.1:\(port)", identity: box, business: business, timeout: .seconds(20))!

    var configuration: RelayConfiguration {
        var configuration = RelayConfiguration()
        configuration.bind = "127.0.0.1"
        configuration.port = port
        configuration.storage = .sqlite(path: storagePath)
        configuration.housekeepingInterval = .seconds(3600)
        configuration.shutdownGraceSeconds = 2
        configuration.kaspiKeyFile = keyFile
        configuration.kaspiCAFile = fake.caFile
        // Short, so that the fake's slow answers are beyond it.
        configuration.kaspiTimeoutSeconds = 2
        return configuration
    }

    private init(fake: FakeKaspi) { self.fake = fake }

    /// The fake, the business and its box at a new relay's storage, and the business's access
    /// (`scheme`; r1 with the fake's API key, r2/r3 with its accepted or its wrong certificate).
    static func make(scheme: KaspiAccess.Scheme = .r3, wrongCertificate: Bool = false, configured: Bool = true) async throws -> KaspiWorld {
        let world = KaspiWorld(fake: try await FakeKaspi.start())
        try KaspiSealingKey.generateFileContents().write(toFile: world.keyFile, atomically: true, encoding: .utf8)
        let storage = try SQLiteRelayStorage(path: world.storagePath, logger: world.logs.logger(label: "setup"))
        try await storage.migrate()
        _ = try await storage.registerBusiness(world.business, ownerKey: world.owner.publicKey, at: 0)
        let certificate = try Certificate.issue(by: world.owner, for: world.box.publicKey, role: "box", branch: "Satpayev St", notBefore: 0, notAfter: Int64.max / 2)
        _ = try await storage.addCertificate(certificate, business: world.business)
        if configured { try await KaspiAdministration.set(world.access(scheme, wrongCertificate: wrongCertificate), business: world.business,
                                                          configuration: world.configuration, logger: world.logs.logger(label: "cli")) }
        try await world.start()
        return world
    }

    func access(_ scheme: KaspiAccess.Scheme, wrongCertificate: Bool = false) throws -> KaspiAccess {
        switch scheme {
        case .r1:
            return KaspiAccess(scheme: .r1, baseURL: fake.baseURL, tradePointID: fake.tradePointID, deviceID: "edgenode-test", organizationBIN: "123456789012",
                               apiKey: fake.apiKey)
        case .r2, .r3:
            return KaspiAccess(scheme: scheme, baseURL: fake.baseURL, tradePointID: fake.tradePointID, deviceID: "edgenode-test", organizationBIN: "123456789012",
                               certificatePEM: try String(contentsOfFile: wrongCertificate ? fake.wrongClientCertificate : fake.clientCertificate, encoding: .utf8),
                               privateKeyPEM: try String(contentsOfFile: wrongCertificate ? fake.wrongClientKey : fake.clientKey, encoding: .utf8))
        }
    }

    func start() async throws {
        let configuration = self.configuration
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let logger = logs.logger(label: "relay")
            let storage = try SQLiteRelayStorage(path: storagePath, logger: logger)
            let runtime = RelayRuntime(core: RelayCore(storage: storage, logger: logger), configuration: configuration, logger: logger)
            let task = Task { try await runtime.run(handleSignals: false) }
            if (try? await withTimeout(.seconds(60), "the relay starting") { try await runtime.waitUntilListening() }) != nil {
                self.task = task
                self.runtime = runtime
                return
            }
            _ = await task.result
            // A restart may find its port held for a while by the old server's closing connections.
            guard ContinuousClock.now < deadline else { throw FakeKaspi.Failure(description: "the relay did not start on port \(port)") }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Stops the relay as SIGTERM would.
    func stopRelay() async {
        await runtime?.shutDown()
        _ = await task?.result
        runtime = nil
        task = nil
    }

    func close() async {
        await stopRelay()
        fake.stop()
    }

    /// What the relay logged, as one text.
    var logText: String { logs.recorded.joined(separator: "\n") }
}

/// Runs `body` in a new world and closes it whatever happens.
func withKaspi(scheme: KaspiAccess.Scheme = .r3, wrongCertificate: Bool = false, configured: Bool = true,
               _ body: (KaspiWorld) async throws -> Void) async throws {
    let world = try await KaspiWorld.make(scheme: scheme, wrongCertificate: wrongCertificate, configured: configured)
    do { try await body(world) } catch {
        await world.close()
        throw error
    }
    await world.close()
}

func tenge(_ minor: Int64) -> Money { Money(amountMinor: minor, currency: "KZT") }

/// The error a call throws, as a `QRGatewayError`.
func gatewayError(_ call: () async throws -> Void) async -> QRGatewayError? {
    do { try await call() } catch let error as QRGatewayError { return error } catch { return QRGatewayError(.unreachable, "not a gateway error: \(error)") }
    return nil
}

/// `call`'s answer once it is not `.unreachable` (as a box retries), within a generous deadline.
func retryWhileUnreachable<T>(_ call: () async throws -> T) async throws -> T {
    try await eventuallyValue("an answer other than unreachable", timeout: .seconds(90), every: .milliseconds(250)) { () async throws -> T? in
        do { return try await call() } catch let error as QRGatewayError where error.kind == .unreachable { return nil }
    }
}

/// Kaspi QR payments from a box through a real relay to a fake Kaspi on loopback (docs/kaspi.md).
@Suite("Kaspi QR through the relay", .serialized)
struct KaspiTests {
    @Test("paid: created → waiting → processed, in tenge from minor units, with X-Request-ID and the client certificate (r3)")
    func paid() async throws {
        try await withKaspi { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-paid-1", amount: tenge(150_050))
            #expect(!invoice.qrToken.isEmpty)
            #expect(invoice.pollIntervalSeconds == 3)
            #expect(invoice.scanTimeoutSeconds == 180)
            #expect(invoice.confirmationTimeoutSeconds == 65)
            #expect(invoice.expiresAt.milliseconds > Int64(Date().timeIntervalSince1970 * 1000))
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .created)
            try await world.fake.scan(externalID: "pay-paid-1")
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .waiting)
            try await world.fake.pay(externalID: "pay-paid-1")
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)

            let calls = try await world.fake.received()
            #expect(calls.map(\.path) == ["/r3/v01/partner/tradepoints", "/r3/v01/device/register", "/r3/v01/qr/create",
                                          "/r3/v02/payment/status/\(invoice.providerPaymentID)", "/r3/v02/payment/status/\(invoice.providerPaymentID)",
                                          "/r3/v02/payment/status/\(invoice.providerPaymentID)"])
            #expect(calls.allSatisfy { $0.hasRequestID && $0.auth == "certificate" })
            let create = try #require(calls.first { $0.path.hasSuffix("qr/create") })
            #expect(create.body.contains("\"Amount\":1500.5"))
            #expect(create.body.contains("\"ExternalId\":\"pay-paid-1\""))
            // Final: answered from the relay's record, Kaspi is not asked again.
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)
            #expect(try await world.fake.calls("/payment/status/\(invoice.providerPaymentID)").count == 3)
        }
    }

    @Test("expired: an unpaid QR past its expiry is failed(expired)")
    func expired() async throws {
        try await withKaspi { world in
            // A QR that lives one second at Kaspi; its status is asked until it has expired.
            try await world.fake.control("POST", "/settings", ["qr_lifetime_seconds": 1])
            let invoice = try await world.gateway.createQR(paymentID: "pay-expired", amount: tenge(500_000))
            try await eventually("the QR expired", timeout: .seconds(60), every: .milliseconds(200)) {
                try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .failed(reason: "expired")
            }
            // Too late to pay.
            await #expect(throws: (any Error).self) { try await world.fake.pay(externalID: "pay-expired") }
        }
    }

    @Test("failed: a payment Kaspi fails is failed(error)")
    func failed() async throws {
        try await withKaspi { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-failed", amount: tenge(100))
            try await world.fake.scan(externalID: "pay-failed")
            try await world.fake.fail(externalID: "pay-failed")
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .failed(reason: "error"))
        }
    }

    @Test("a retried create with the same payment id answers the same QR; Kaspi saw one qr/create")
    func retriedCreate() async throws {
        try await withKaspi { world in
            let first = try await world.gateway.createQR(paymentID: "pay-retry", amount: tenge(250_000))
            let second = try await world.gateway.createQR(paymentID: "pay-retry", amount: tenge(250_000))
            #expect(first == second)
            #expect(try await world.fake.calls("qr/create").count == 1)
            // The same id with another amount is the box's mistake, refused without asking Kaspi.
            let error = await gatewayError { _ = try await world.gateway.createQR(paymentID: "pay-retry", amount: tenge(1)) }
            #expect(error?.kind == .refused && error?.code == nil)
            #expect(try await world.fake.calls("qr/create").count == 1)
        }
    }

    @Test("refunds: refundable first, a partial refund, then an over-refund refused with -99000005; a retried refund is not made twice")
    func refunds() async throws {
        try await withKaspi { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-refund", amount: tenge(1_000_000))
            try await world.fake.pay(externalID: "pay-refund")
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)
            #expect(try await world.gateway.refundable(providerPaymentID: invoice.providerPaymentID) == QRRefundable(total: tenge(1_000_000), available: tenge(1_000_000)))

            // Kaspi refuses the refundable amount once: the refund is refused, and asking again at once tries afresh.
            try await world.fake.inject(.error(code: -1601), path: "payment/details")
            let refused = await gatewayError { _ = try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(300_050), refundID: "refund-1") }
            #expect(refused?.kind == .refused && refused?.code == -1601)
            try await world.fake.control("POST", "/clear")
            let refund = try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(300_050), refundID: "refund-1")
            #expect(!refund.providerReference.isEmpty)
            // The relay asked for the refundable amount itself, right before the return.
            let refundCalls = try await world.fake.received().map(\.path)
            #expect(refundCalls == ["/r3/v01/payment/details", "/r3/v01/payment/return"])
            #expect(try await world.gateway.refundable(providerPaymentID: invoice.providerPaymentID).available == tenge(699_950))
            // The same refund id again: the first answer, no second return at Kaspi.
            #expect(try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(300_050), refundID: "refund-1") == refund)

            let error = await gatewayError { _ = try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(700_000), refundID: "refund-2") }
            #expect(error?.kind == .refused)
            #expect(error?.code == -99000005)
            #expect(try await world.gateway.refundable(providerPaymentID: invoice.providerPaymentID).available == tenge(699_950))

            let returns = try await world.fake.calls("payment/return")
            #expect(returns.count == 2)
            #expect(returns.first?.body.contains("\"Amount\":3000.5") == true)
            #expect(returns.first?.body.contains("\"OrganizationBin\":\"123456789012\"") == true)
        }
    }

    @Test("relay down mid-payment: the box gets .unreachable, later the status answers the definite state")
    func relayDownMidPayment() async throws {
        try await withKaspi { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-down", amount: tenge(20_000))
            await world.stopRelay()
            let error = await gatewayError { _ = try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) }
            #expect(error?.kind == .unreachable)
            try await world.fake.pay(externalID: "pay-down")
            try await world.start()
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)
            // The create was not repeated, and asking again for the payment still answers its QR.
            #expect(try await world.gateway.createQR(paymentID: "pay-down", amount: tenge(20_000)) == invoice)
            #expect(try await world.fake.calls("qr/create").count == 1)
        }
    }

    @Test("slow answers and dropped connections at Kaspi are .unreachable, then the definite state")
    func slowAndDropped() async throws {
        try await withKaspi { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-slow", amount: tenge(30_000))
            let status = { await gatewayError { _ = try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) } }
            try await world.fake.inject(.slow(seconds: 5), path: "payment/status")
            let slow = await status()
            #expect(slow?.kind == .unreachable)
            try await world.fake.inject(.drop, path: "payment/status")
            let dropped = await status()
            #expect(dropped?.kind == .unreachable)
            try await world.fake.inject(.error(code: -999), path: "payment/status")
            // Kaspi's -999 (service unavailable) says nothing definite either.
            let unavailable = await status()
            #expect(unavailable?.kind == .unreachable)
            try await world.fake.pay(externalID: "pay-slow")
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)

            // A create whose answer is lost is unknown; asking again makes the QR (the lost one is never shown, so never paid).
            try await world.fake.inject(.drop, path: "qr/create")
            let lost = await gatewayError { _ = try await world.gateway.createQR(paymentID: "pay-drop", amount: tenge(30_000)) }
            #expect(lost?.kind == .unreachable)
            let made = try await world.gateway.createQR(paymentID: "pay-drop", amount: tenge(30_000))
            #expect(try await world.gateway.createQR(paymentID: "pay-drop", amount: tenge(30_000)) == made)
        }
    }

    @Test("r1: the API key in Api-Key")
    func apiKeyScheme() async throws {
        try await withKaspi(scheme: .r1) { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-r1", amount: tenge(7_500))
            try await world.fake.pay(externalID: "pay-r1")
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)
            let calls = try await world.fake.received()
            #expect(!calls.isEmpty && calls.allSatisfy { $0.scheme == "r1" && $0.auth == "api_key" })
        }
    }

    @Test("a client certificate Kaspi does not accept: -10000 as .refused")
    func wrongCertificate() async throws {
        try await withKaspi(wrongCertificate: true) { world in
            let error = await gatewayError { _ = try await world.gateway.createQR(paymentID: "pay-wrong-cert", amount: tenge(100)) }
            #expect(error?.kind == .refused)
            #expect(error?.code == -10000)
            let calls = try await world.fake.received()
            #expect(calls.first?.auth == "other_certificate:someone-else")
        }
    }

    @Test("no access stored for the business: .notConfigured")
    func notConfigured() async throws {
        try await withKaspi(configured: false) { world in
            let error = await gatewayError { _ = try await world.gateway.createQR(paymentID: "pay-none", amount: tenge(100)) }
            #expect(error?.kind == .notConfigured)
            let calls = try await world.fake.received()
            #expect(calls.isEmpty)
        }
    }

    @Test("a currency other than KZT is refused before Kaspi")
    func onlyTenge() async throws {
        try await withKaspi { world in
            let error = await gatewayError { _ = try await world.gateway.createQR(paymentID: "pay-usd", amount: Money(amountMinor: 100, currency: "USD")) }
            #expect(error?.kind == .refused)
            #expect(error?.message.contains("KZT") == true)
            let calls = try await world.fake.received()
            #expect(calls.isEmpty)
        }
    }

    @Test("the relay's storage and log hold neither the certificate, its key nor the API key in clear, and no client name or phone",
          arguments: [KaspiAccess.Scheme.r1, .r3])
    func secretsAtRest(scheme: KaspiAccess.Scheme) async throws {
        try await withKaspi(scheme: scheme) { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-secrets", amount: tenge(1_000_000))
            try await world.fake.pay(externalID: "pay-secrets")
            _ = try await world.gateway.status(providerPaymentID: invoice.providerPaymentID)
            if scheme == .r3 {
                _ = try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(100), refundID: "refund-secrets")
            }
            await world.stopRelay()
            var stored: [UInt8] = []
            for suffix in ["", "-wal", "-shm"] {
                if let data = FileManager.default.contents(atPath: world.storagePath + suffix) { stored += Array(data) }
            }
            let secrets: [String] = try [world.fake.apiKey] + [world.fake.clientCertificate, world.fake.clientKey].flatMap { file in
                // Every base64 line of the PEM files (the certificate's and the key's bytes).
                try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count >= 16 }.map(String.init)
            }
            let text = String(decoding: stored, as: UTF8.self)
            for secret in secrets {
                #expect(!text.contains(secret), "the relay's storage holds a secret in clear")
                #expect(!world.logText.contains(secret), "the relay's log holds a secret")
            }
            // The device token is a credential too.
            let token = try #require(try await world.fake.received().first { $0.path.hasSuffix("qr/create") }?.body
                .split(separator: "\"").drop { $0 != "DeviceToken" }.dropFirst(2).first)
            #expect(!text.contains(token))
            #expect(world.logText.contains("kaspi qr created"))
            // What the relay keeps of a payment: ids, amounts, statuses, timestamps.
            let storage = try SQLiteRelayStorage(path: world.storagePath, logger: Logger(label: "check"))
            let operation = try #require(try await storage.kaspiOperation(.payment, id: "pay-secrets", business: world.business))
            let record = try #require(try JSONSerialization.jsonObject(with: Data(operation.record)) as? [String: Any])
            #expect(Set(record.keys) == ["amountMinor", "currency", "qrToken", "expiresAt", "pollIntervalSeconds", "scanTimeoutSeconds",
                                         "confirmationTimeoutSeconds", "status", "createdAt", "statusAt"])
        }
    }
}

/// Kaspi's amounts: tenge as a decimal number from minor units, exactly.
@Suite("Kaspi amounts")
struct KaspiAmountTests {
    @Test(arguments: [(Int64(150_050), "1500.5"), (100, "1"), (5, "0.05"), (1_000_000, "10000"), (123_456_789_01, "123456789.01"), (10, "0.1")])
    func text(minor: Int64, text: String) throws {
        #expect(try KaspiAmount.text(minor: minor, currency: "KZT") == text)
        #expect(KaspiAmount.minor(text) == minor)
    }

    @Test func refusesOtherCurrenciesAndNonPositive() {
        #expect(throws: KaspiError.self) { try KaspiAmount.text(minor: 100, currency: "USD") }
        #expect(throws: KaspiError.self) { try KaspiAmount.text(minor: 0, currency: "KZT") }
        #expect(KaspiAmount.minor("1.005") == nil)
        #expect(KaspiAmount.minor("-1") == nil)
    }
}

extension KaspiTests {
    @Test("a refund whose answer was lost is made once: the retry finds the refundable amount dropped by it and does not return again")
    func lostRefundAnswer() async throws {
        try await withKaspi { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-lost-refund", amount: tenge(500_000))
            try await world.fake.pay(externalID: "pay-lost-refund")
            #expect(try await world.gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)
            // Kaspi makes the return, but answers after the relay gave up.
            try await world.fake.inject(.slow(seconds: 5), path: "payment/return")
            let lost = await gatewayError {
                _ = try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(200_000), refundID: "refund-lost")
            }
            #expect(lost?.kind == .unreachable)
            try await eventually("Kaspi made the slow return", timeout: .seconds(60), every: .milliseconds(200)) {
                try await world.gateway.refundable(providerPaymentID: invoice.providerPaymentID).available == tenge(300_000)
            }
            // The unknown attempt keeps its claim a while (a late return at Kaspi must show first); then the retry answers.
            let retried = try await retryWhileUnreachable {
                try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(200_000), refundID: "refund-lost")
            }
            #expect(retried == QRRefundResult(providerReference: ""))
            #expect(try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(200_000), refundID: "refund-lost") == retried)
            #expect(try await world.fake.calls("payment/return").count == 1)
            #expect(try await world.gateway.refundable(providerPaymentID: invoice.providerPaymentID).available == tenge(300_000))

            // Lost without being made (the connection dropped before Kaspi did anything): the retry returns.
            try await world.fake.inject(.drop, path: "payment/return")
            let dropped = await gatewayError {
                _ = try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(100_000), refundID: "refund-dropped")
            }
            #expect(dropped?.kind == .unreachable)
            let made = try await retryWhileUnreachable {
                try await world.gateway.refund(providerPaymentID: invoice.providerPaymentID, amount: tenge(100_000), refundID: "refund-dropped")
            }
            #expect(!made.providerReference.isEmpty)
            #expect(try await world.gateway.refundable(providerPaymentID: invoice.providerPaymentID).available == tenge(200_000))
        }
    }
}

/// The same through the `edgenode-relay` process, its access stored with `edgenode-relay kaspi set`.
@Suite("Kaspi QR through the edgenode-relay process")
struct KaspiProcessTests {
    @Test("kaspi set, kaspi show (nothing secret), serve as the gateway: a QR paid")
    func process() async throws {
        let fake = try await FakeKaspi.start()
        defer { fake.stop() }
        let directory = temporaryDirectory("kaspi-process")
        let storage = "sqlite:\(directory)/relay.sqlite"
        let keyFile = directory + "/kaspi.key"
        _ = try await offPool { try run(Binaries.relay, ["kaspi", "new-key", keyFile]) }
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // A second new-key would make the stored access unreadable: refused.
        #expect(try await offPool { try run(Binaries.relay, ["kaspi", "new-key", keyFile], check: false) }.status != 0)

        let owner = SigningKey.generate(), box = SigningKey.generate()
        let business = BusinessID(ownerKey: owner.publicKey)
        let setup = try SQLiteRelayStorage(path: directory + "/relay.sqlite", logger: Logger(label: "setup"))
        try await setup.migrate()
        _ = try await setup.registerBusiness(business, ownerKey: owner.publicKey, at: 0)
        _ = try await setup.addCertificate(try Certificate.issue(by: owner, for: box.publicKey, role: "box", branch: "Satpayev St", notBefore: 0, notAfter: Int64.max / 2),
                                           business: business)

        let common = ["--storage", storage, "--kaspi-key-file", keyFile]
        // r3 without a certificate is refused with a message, and stores nothing.
        let incomplete = try await offPool { try run(Binaries.relay, ["kaspi", "set"] + common + ["--business", business.hex, "--scheme", "r3", "--base-url", fake.baseURL,
                                                                              "--trade-point", "1", "--bin", "123456789012"], check: false) }
        #expect(incomplete.status != 0 && incomplete.error.contains("client certificate"))
        _ = try await offPool { try run(Binaries.relay, ["kaspi", "set"] + common + ["--business", business.hex, "--scheme", "r3", "--base-url", fake.baseURL, "--trade-point", "1",
                                                              "--bin", "123456789012", "--certificate", fake.clientCertificate, "--private-key", fake.clientKey]) }
        let shown = try await offPool { try run(Binaries.relay, ["kaspi", "show"] + common + ["--business", business.hex]).output }
        #expect(shown.contains("r3") && shown.contains("trade point:   1") && shown.contains("client certificate"))
        let secrets = try [fake.clientCertificate, fake.clientKey].flatMap { file in
            try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count >= 16 }.map(String.init)
        }
        #expect(secrets.allSatisfy { !shown.contains($0) })

        let port = RelayPorts.reserve()
        let relay = try ChildProcess(name: "relay", program: Binaries.relay,
                                     arguments: ["serve", "--bind", "127.0.0.1", "--port", String(port), "--log-level", "debug", "--kaspi-ca-file", fake.caFile] + common)
        defer { Thread { _ = relay.stop() }.start() }
        #expect(try await relay.waitForLog(#"relay\.port=(\d+)"#) == String(port))
        let gateway = try #require(RelayKaspiGateway(relayURL: "http://127.0.0.1:\(port)", identity: box, business: business))
        let invoice = try await gateway.createQR(paymentID: "pay-process", amount: Money(amountMinor: 990_000, currency: "KZT"))
        try await fake.pay(externalID: "pay-process")
        #expect(try await gateway.status(providerPaymentID: invoice.providerPaymentID) == .processed)
        #expect(relay.log.contains("kaspi qr created"))
        #expect(secrets.allSatisfy { !relay.log.contains($0) })
    }
}

extension KaspiTests {
    @Test("only the business's boxes use its gateway, and only for its own payments")
    func boxesOfTheBusinessOnly() async throws {
        try await withKaspi { world in
            let invoice = try await world.gateway.createQR(paymentID: "pay-own", amount: tenge(10_000))
            // A key the relay does not know (not enrolled in the business): not configured for it, Kaspi not asked.
            let stranger = try #require(RelayKaspiGateway(relayURL: "http://127.0.0.1:\(world.port)", identity: SigningKey.generate(), business: world.business))
            let unknown = await gatewayError { _ = try await stranger.createQR(paymentID: "pay-stranger", amount: tenge(10_000)) }
            #expect(unknown?.kind == .notConfigured)
            // Another business's box, enrolled at the same relay, cannot follow this business's payment.
            let otherOwner = SigningKey.generate(), otherBox = SigningKey.generate()
            let other = BusinessID(ownerKey: otherOwner.publicKey)
            let storage = try SQLiteRelayStorage(path: world.storagePath, logger: Logger(label: "setup"))
            _ = try await storage.registerBusiness(other, ownerKey: otherOwner.publicKey, at: 0)
            _ = try await storage.addCertificate(try Certificate.issue(by: otherOwner, for: otherBox.publicKey, role: "box", branch: "elsewhere", notBefore: 0,
                                                                       notAfter: Int64.max / 2), business: other)
            let otherGateway = try #require(RelayKaspiGateway(relayURL: "http://127.0.0.1:\(world.port)", identity: otherBox, business: other))
            let foreign = await gatewayError { _ = try await otherGateway.status(providerPaymentID: invoice.providerPaymentID) }
            #expect(foreign?.kind == .refused && foreign?.message.contains("not_found") == true)
            let calls = try await world.fake.calls("qr/create")
            #expect(calls.count == 1)
        }
    }
}
