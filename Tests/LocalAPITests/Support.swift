import Domain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LocalAPI
import Logging
import NIOCore
import Replication
import Testing
import TestSupport

let quietLogger: Logger = {
    var logger = Logger(label: "api-test")
    logger.logLevel = .critical
    return logger
}()

/// A real replica in a temporary directory with a small salon: one branch (Asia/Almaty),
/// two staff, a haircut, a client, and one paired device per role.
final class APIFixture: @unchecked Sendable {
    let fixture = TestFixture(clock: TestClock("2026-03-02T03:00:00Z"), prefix: "edgenode-api")   // Monday 08:00 in Almaty (+05:00)
    var clock: TestClock { fixture.clock }
    var directory: String { fixture.directory }
    var owner: SigningKey { fixture.owner }
    let shop: Shop
    let api: LocalAPI
    let branch: BranchID
    let aigerim: StaffID
    let dana: StaffID
    let haircut: OfferingID
    let client: ClientID
    var tokens: [Role: String] = [:]
    var devices: [Role: Device] = [:]

    init(configure: (inout LocalAPIConfiguration) -> Void = { _ in }) throws {
        let clock = fixture.clock
        branch = BranchID.generate(at: clock.now)
        shop = try Shop(store: try fixture.makeStore(name: "replica", branch: branch.rawValue), logger: quietLogger)
        let week = WeeklyHours.every([.monday, .tuesday, .wednesday, .thursday, .friday, .saturday], [WallInterval("09:00", "18:00")!])
        try shop.save(Branch(id: branch, name: "Almaty Central", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: week,
                             policy: BookingPolicy(minimumNoticeMinutes: 0, horizonDays: 60, cancellationCutoffHours: 24, slotHoldMinutes: 10)))
        aigerim = StaffID.generate(at: clock.now)
        dana = StaffID.generate(at: clock.now.adding(milliseconds: 1))
        try shop.save(StaffMember(id: aigerim, branchID: branch, name: "Aigerim", schedule: week))
        try shop.save(StaffMember(id: dana, branchID: branch, name: "Dana", schedule: week, displayOrder: 1))
        haircut = OfferingID.generate(at: clock.now)
        try shop.save(Offering(id: haircut, branchID: branch, category: "Hair", names: ["en": "Haircut", "ru": "Стрижка"], durationMinutes: 60,
                               price: Money(amountMinor: 800_000, currency: "KZT"), slotStepMinutes: 30))
        try shop.assign(StaffOffering(staffID: aigerim, offeringID: haircut))
        try shop.assign(StaffOffering(staffID: dana, offeringID: haircut))
        client = try shop.createClient(ClientDraft(name: "Ерлан Сапаров", phone: "8 701 123 45 67"), branch: branch).id
        for role in Role.allCases {
            let (device, token) = try shop.registerDevice(name: "\(role.rawValue) tablet", role: role, pairedBy: "test")
            tokens[role] = token
            devices[role] = device
        }
        var apiConfiguration = LocalAPIConfiguration()
        apiConfiguration.keepAliveInterval = .milliseconds(200)
        configure(&apiConfiguration)
        api = LocalAPI(shop: shop, configuration: apiConfiguration, logger: quietLogger)
    }

    /// Another replica of the same business (an owner's laptop, no home branch), on the same clock.
    func makePeer() throws -> Shop { try fixture.makeShop(home: nil) }

    /// Runs `body` against the router in process (HummingbirdTesting).
    func test(_ body: @Sendable @escaping (APIClient) async throws -> Void) async throws {
        let application = Application(router: api.makeRouter(), logger: quietLogger)
        try await application.test(.router) { client in
            try await body(APIClient(client: client, fixture: self))
        }
    }
}

/// A response: status, headers, body (and its JSON if it is JSON).
struct APIResponse: Sendable {
    let status: Int
    let headers: HTTPFields
    let text: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    subscript(key: String) -> Any? { json[key] }
    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

struct APIClient: Sendable {
    let client: any TestClientProtocol
    let fixture: APIFixture

    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, as role: Role? = .owner, token: String? = nil, json: String? = nil,
              headers extra: [String: String] = [:]) async throws -> APIResponse {
        var headers = HTTPFields()
        if let token = token ?? role.flatMap({ fixture.tokens[$0] }) { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        return try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            APIResponse(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
        }
    }
}

/// A JSON object literal as text.
func body(_ object: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
