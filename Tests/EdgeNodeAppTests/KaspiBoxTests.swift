import Domain
import EdgeNodeApp
import Foundation
import Logging
import Prometheus
import Relay
import Replication
import Testing
import TestSupport

/// Issue 16's Kaspi proof from the front desk's side: a box with `payments.kaspi_qr` takes a Kaspi
/// QR payment through a real relay (the business's Kaspi gateway) to the fake Kaspi; the box
/// restarted mid-payment, and the relay down mid-payment: each payment ends in one definite state,
/// with one QR made at Kaspi, never doubled.
@Suite("Kaspi QR from the front desk through the relay", .serialized)
struct KaspiBoxTests {
    static func data(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object) }
    static func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

    /// The real `edgenode serve` on the box's data directory (so it can be killed mid-payment).
    final class Box: @unchecked Sendable {
        let process: ChildProcess
        let client: ConsoleClient

        init(_ directory: String, relayPort: Int, token: String) async throws {
            var environment = ChildProcess.cleanEnvironment
            environment["EDGENODE_RELAY_URL"] = "http://127.0.0.1:\(relayPort)"
            environment["EDGENODE_PAYMENTS_KASPI_QR"] = "true"
            environment["EDGENODE_DISCOVERY_ENABLED"] = "false"
            environment["EDGENODE_SYNC_LAN"] = "false"
            process = try ChildProcess(name: "box", program: Binaries.edgenode,
                                       arguments: ["serve", "--data-dir", directory, "--bind", "127.0.0.1", "--port", "0", "--log-level", "info"],
                                       environment: environment)
            guard let port = try await process.waitForLog(#"listening on http://127\.0\.0\.1:(\d+)"#).flatMap({ Int($0) }) else {
                throw TimeoutError(what: "the box starting: \(process.tail)")
            }
            client = ConsoleClient(host: "127.0.0.1", port: port, token: token)
        }

        func send(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> (Int, [String: Any]) {
            let payload = body.map(KaspiBoxTests.data)
            let client = self.client
            let (status, text) = try await offPool { try client.request(method, path, body: payload) }
            return (status, KaspiBoxTests.json(text))
        }

        /// A sale of one line paid by Kaspi QR: the payment's id.
        func sellByKaspi(_ amount: Int) async throws -> (sale: String, payment: String) {
            let (status, sale) = try await send("POST", "/v1/sales", ["lines": [["name": "Colour", "quantity": 1, "unit_price_minor": amount]],
                                                                      "payments": [["method": "kaspi_qr", "amount_minor": amount]]])
            #expect(status == 201, "\(sale)")
            let payment = (sale["payments"] as? [[String: Any]])?.first
            #expect(payment?["status"] as? String == "pending")
            return (sale["id"] as? String ?? "", payment?["id"] as? String ?? "")
        }

        func payment(_ id: String) async throws -> [String: Any] { try await send("GET", "/v1/payments/\(id)").1 }
    }

    @Test("paid; box restarted mid-payment; relay down mid-payment: one QR each at Kaspi, one definite state each")
    func kaspiAtTheDesk() async throws {
        let world = try await KaspiWorld.make()
        do {
            try await Self.kaspiAtTheDesk(world)
        } catch {
            await world.close()
            throw error
        }
        await world.close()
    }

    static func kaspiAtTheDesk(_ world: KaspiWorld) async throws {
        let root = temporaryDirectory("kaspi-box")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/box"
        _ = try await offPool { try run(Binaries.edgenode, ["init", "--data-dir", directory, "--branch", "Atyrau", "--time-zone", "Asia/Atyrau", "--currency", "KZT",
                                                         "--region", "KZ", "--owner-name", "Owner"]) }
        let token = try String(contentsOfFile: directory + "/console.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // The relay knows the box's business, its certificate and its Kaspi access (the operator's `kaspi set`).
        let (business, ownerKey, certificate) = try { () throws -> (BusinessID, PublicKey, Certificate?) in
            let store = try ReplicaDirectory(path: directory).openStore(logger: Logger(label: "setup"))
            return (store.business, store.ownerKey, store.trustStore.certificates[store.site]?.last)
        }()
        let storage = try SQLiteRelayStorage(path: world.storagePath, logger: Logger(label: "setup"))
        _ = try await storage.registerBusiness(business, ownerKey: ownerKey, at: 0)
        _ = try await storage.addCertificate(try #require(certificate), business: business)
        try await KaspiAdministration.set(world.access(.r3), business: business, configuration: world.configuration, logger: Logger(label: "cli"))
        var box = try await Box(directory, relayPort: world.port, token: token)
        defer { let process = box.process; Thread { process.kill() }.start() }

        // 1. Paid: pending, its QR shown, scanned, paid: settled, the sale paid.
        let first = try await box.sellByKaspi(1_500_000)
        let qr = try await eventuallyValue("the QR", timeout: .seconds(60)) { try await box.payment(first.payment)["qr"] as? [String: Any] }
        #expect((qr["token"] as? String)?.isEmpty == false && (qr["poll_interval_seconds"] as? Int ?? 0) >= 1)
        try await world.fake.scan(externalID: first.payment)
        try await world.fake.pay(externalID: first.payment)
        try await eventually("the payment settled", timeout: .seconds(60)) { try await box.payment(first.payment)["status"] as? String == "settled" }
        #expect(try await box.send("GET", "/v1/sales/\(first.sale)").1["state"] as? String == "paid")
        // The box's uplink enrolled at the relay too (its sync), which changes nothing here.

        // 2. The box is stopped with the QR shown; the client pays meanwhile; the restarted box finds it paid.
        let second = try await box.sellByKaspi(700_000)
        _ = try await eventuallyValue("the second QR", timeout: .seconds(60)) { try await box.payment(second.payment)["qr"] as? [String: Any] }
        let killed = box.process
        try await offPool { killed.kill() }   // SIGKILL: the box dies with the QR on the tablet
        try await world.fake.pay(externalID: second.payment)
        box = try await Box(directory, relayPort: world.port, token: token)
        try await eventually("the second payment settled after the restart", timeout: .seconds(60)) {
            try await box.payment(second.payment)["status"] as? String == "settled"
        }

        // 3. The relay is down while the client pays: the payment stays pending, says why, and settles once the relay is back.
        let third = try await box.sellByKaspi(300_000)
        _ = try await eventuallyValue("the third QR", timeout: .seconds(60)) { try await box.payment(third.payment)["qr"] as? [String: Any] }
        await world.stopRelay()
        try await world.fake.pay(externalID: third.payment)
        try await eventually("the box saying the gateway cannot be reached", timeout: .seconds(60)) {
            let payment = try await box.payment(third.payment)
            return payment["status"] as? String == "pending" && (payment["qr_error"] as? String)?.isEmpty == false
        }
        try await world.start()
        try await eventually("the third payment settled", timeout: .seconds(90)) { try await box.payment(third.payment)["status"] as? String == "settled" }

        // Kaspi made exactly one QR per payment.
        let creates = try await world.fake.calls("qr/create")
        for payment in [first.payment, second.payment, third.payment] {
            #expect(creates.filter { $0.body.contains(payment) }.count == 1, "QRs made for \(payment)")
        }
    }
}
