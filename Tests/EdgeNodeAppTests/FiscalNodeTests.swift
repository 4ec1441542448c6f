import Domain
import EdgeNodeApp
import Foundation
import Prometheus
import Replication
import Testing
import TestSupport

/// The fiscal hand-off in a running box (issue 16): `fiscal.adapter = webkassa` against the fake
/// Webkassa server on loopback. A paid sale is fiscalised once; sales made while the register is
/// unreachable go out in order when it returns; the secrets come from files, never the configuration.
@Suite("Fiscal hand-off in a running box", .serialized)
struct FiscalNodeTests {
    static func data(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object) }

    @Test("a paid sale is fiscalised with the box's sale id as the external number; sales made offline go out in order on reconnection")
    func fiscalisedInOrder() async throws {
        let register = try await FakeWebkassa()
        defer { register.stop() }
        let root = NSTemporaryDirectory() + "edgenode-fiscal-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try (register.apiKey + "\n").write(toFile: root + "/api-key", atomically: true, encoding: .utf8)
        try register.password.write(toFile: root + "/password", atomically: true, encoding: .utf8)
        let directory = ReplicaDirectory(path: root + "/box")
        _ = try Provisioning(branchName: "Atyrau", timeZone: "Asia/Atyrau", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: directory, logger: PeerSyncTests.logger)
        var configuration = NodeConfiguration.loopback(directory)
        configuration.fiscal.adapter = "webkassa"
        configuration.fiscal.webkassa.url = register.url
        configuration.fiscal.webkassa.login = register.login
        configuration.fiscal.webkassa.cashbox = register.cashbox
        configuration.fiscal.webkassa.apiKeyFile = root + "/api-key"
        configuration.fiscal.webkassa.passwordFile = root + "/password"
        configuration.fiscal.webkassa.timeoutSeconds = 5
        #expect(!configuration.describe().contains(register.password) && !configuration.describe().contains(register.apiKey))
        let box = try EdgeNodeRuntime(configuration: configuration, logger: PeerSyncTests.logger, registry: PrometheusCollectorRegistry())
        let server = Task { try await box.run() }
        defer { server.cancel() }
        let port = try await withTimeout(.seconds(60), "the box starting to listen") { try await box.waitUntilListening() }
        let token = try box.shop.registerDevice(name: "desk", role: .owner, pairedBy: "test").token
        let client = ConsoleClient(host: "127.0.0.1", port: port, token: token)
        @Sendable func sell(_ name: String) async throws -> String {
            let (status, body) = try await offPool {
                try client.request("POST", "/v1/sales", body: Self.data(["lines": [["name": name, "quantity": 1, "unit_price_minor": 150_050]],
                                                                          "payments": [["method": "card", "amount_minor": 150_050]]]))
            }
            #expect(status == 201, "\(body)")
            return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["id"] as? String ?? ""
        }
        let first = try await sell("Shampoo")
        try await eventually("the first sale fiscalised", timeout: .seconds(60)) { try await box.shop.money.sale(SaleID(first)!).fiscal == .done }
        var checks = try await register.checks()
        #expect(checks.map(\.externalCheckNumber) == [first])
        #expect(checks.first?.total == "1500.50")
        #expect(try await box.shop.money.sale(SaleID(first)!).fiscalReceipt?.checkNumber == checks.first?.checkNumber)

        // The register is unreachable: sales queue (fiscal pending), then go out in the order they were made.
        try await register.setOffline(true)
        var offline: [String] = []
        for name in ["Mask", "Comb", "Oil"] { offline.append(try await sell(name)) }
        for id in offline { #expect(try await box.shop.money.sale(SaleID(id)!).fiscal == .pending) }
        try await register.setOffline(false)
        try await eventually("the offline sales fiscalised", timeout: .seconds(90)) {
            try await register.checks().count == 4
        }
        checks = try await register.checks()
        #expect(checks.map(\.externalCheckNumber) == [first] + offline)
        try await eventually("the receipts recorded", timeout: .seconds(30)) {
            var done = true
            for id in offline { done = try await box.shop.money.sale(SaleID(id)!).fiscal == .done && done }
            return done
        }
    }
}
