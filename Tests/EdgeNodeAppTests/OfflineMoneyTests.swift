import Domain
import EdgeNodeApp
import Foundation
import Prometheus
import Replication
import Testing
import TestSupport

/// Issue 16, offline: a box whose relay cannot be reached takes cash and the printed static Kaspi
/// QR (unverified) within the caps; above a cap a manager's PIN is needed; a refund to a card is
/// refused; the Z report lists the unverified payments.
@Suite("Money with the relay unreachable", .serialized)
struct OfflineMoneyTests {
    static func data(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object) }
    static func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

    @Test("cash and static QR within caps work offline; above the cap needs a manager's PIN; no card refund; the Z report lists the unverified")
    func offline() async throws {
        let root = NSTemporaryDirectory() + "edgenode-offline-money-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = ReplicaDirectory(path: root + "/box")
        _ = try Provisioning(branchName: "Atyrau", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: directory, logger: PeerSyncTests.logger)
        var configuration = NodeConfiguration.loopback(directory)
        configuration.relay.url = "http://127.0.0.1:9"   // discard: nobody listens
        let box = try EdgeNodeRuntime(configuration: configuration, logger: PeerSyncTests.logger, registry: PrometheusCollectorRegistry())
        let server = Task { try await box.run() }
        defer { server.cancel() }
        let port = try await withTimeout(.seconds(60), "the box starting to listen") { try await box.waitUntilListening() }
        let desk = ConsoleClient(host: "127.0.0.1", port: port, token: try box.shop.registerDevice(name: "desk", role: .frontDesk, pairedBy: "test").token)
        let owner = ConsoleClient(host: "127.0.0.1", port: port, token: try box.shop.registerDevice(name: "owner", role: .owner, pairedBy: "test").token)
        let manager = try await box.shop.access.createPerson(name: "Madina", role: .manager, pin: "2468", as: .system("test"))
        @Sendable func send(_ client: ConsoleClient, _ method: String, _ path: String, _ body: [String: Any]?) async throws -> (Int, [String: Any]) {
            let payload = body.map(Self.data)
            let (status, text) = try await offPool { try client.request(method, path, body: payload) }
            return (status, Self.json(text))
        }
        try await eventually("the uplink failing", timeout: .seconds(60)) { box.uplink?.current.state != "starting" && box.uplink?.current.connected == false }
        #expect(try await send(owner, "PUT", "/v1/money/settings", ["unverified_payment_cap_minor": 1_000_000, "unverified_box_cap_minor": 1_500_000]).0 == 200)
        #expect(try await send(desk, "POST", "/v1/drawer/open", ["float_minor": 500_000]).0 == 201)
        func sale(_ price: Int, _ payments: [[String: Any]], approval: [String: String]? = nil) async throws -> (Int, [String: Any]) {
            var body: [String: Any] = ["lines": [["name": "Colour", "quantity": 1, "unit_price_minor": price]], "payments": payments]
            if let approval { body["approval"] = approval }
            return try await send(desk, "POST", "/v1/sales", body)
        }
        let cash = try await sale(700_000, [["method": "cash", "amount_minor": 700_000, "tendered_minor": 1_000_000]])
        #expect(cash.0 == 201 && cash.1["state"] as? String == "paid")
        let card = try await sale(300_000, [["method": "card", "amount_minor": 300_000, "card_last4": "1111"]])
        let staticQR = try await sale(900_000, [["method": "kaspi_static", "amount_minor": 900_000]])
        #expect(staticQR.0 == 201 && (staticQR.1["payments"] as? [[String: Any]])?.first?["status"] as? String == "unverified")
        // Above the per-payment cap, and above what the box may hold unverified: a manager's PIN.
        let above = try await sale(1_200_000, [["method": "kaspi_static", "amount_minor": 1_200_000]])
        #expect(above.0 == 403 && (above.1["type"] as? String)?.hasSuffix("above_cap") == true, "\(above.1)")
        let boxCap = try await sale(700_000, [["method": "kaspi_static", "amount_minor": 700_000]])
        #expect(boxCap.0 == 403 && (boxCap.1["type"] as? String)?.hasSuffix("above_cap") == true)
        let approved = try await sale(1_200_000, [["method": "kaspi_static", "amount_minor": 1_200_000]], approval: ["person": manager.id.rawValue, "pin": "2468"])
        #expect(approved.0 == 201, "\(approved.1)")
        // Never offline: a refund to a card.
        let cardPayment = (card.1["payments"] as? [[String: Any]])?.first?["id"] as? String ?? ""
        let refund = try await send(owner, "POST", "/v1/payments/\(cardPayment)/refund", ["amount_minor": 100_000, "reason": "unhappy"])
        #expect(refund.0 == 409 && (refund.1["type"] as? String)?.hasSuffix("offline_not_allowed") == true, "\(refund.1)")
        // A cash refund works offline.
        let cashPayment = (cash.1["payments"] as? [[String: Any]])?.first?["id"] as? String ?? ""
        #expect(try await send(owner, "POST", "/v1/payments/\(cashPayment)/refund", ["amount_minor": 100_000, "reason": "unhappy"]).0 == 201)
        let z = try await send(desk, "POST", "/v1/drawer/close", ["counted": ["1000000": 1, "100000": 1]])
        #expect(z.0 == 201)
        let listed = (z.1["unverified"] as? [[String: Any]] ?? []).compactMap { $0["amount_minor"] as? Int }.sorted()
        #expect(listed == [900_000, 1_200_000])
        #expect(z.1["expected_cash_minor"] as? Int == 500_000 + 700_000 - 100_000)
        #expect(z.1["variance_minor"] as? Int == 0)
    }
}
