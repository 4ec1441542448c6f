import Foundation
import KaspiMerchant
import Logging
import OutboundHTTP
import Testing
@testable import Relay
@testable import Replication
import TestSupport

/// The Kaspi gateway's part of every `RelayStorage` (SQLite and PostgreSQL): sealed access and
/// the claims that keep a QR and a refund to one attempt at a time (docs/kaspi.md §2, §3).
@Suite("Relay storage conformance: Kaspi")
struct KaspiStorageConformanceTests {
    func check(_ kind: StorageKind, _ scenario: @escaping @Sendable (any RelayStorage) async throws -> Void) async throws {
        try await run(try makeStorage(kind), scenario)
    }

    private func run<S: RelayStorage>(_ storage: S, _ scenario: @escaping @Sendable (any RelayStorage) async throws -> Void) async throws {
        try await withRunningStorage(storage) { try await scenario($0) }
    }

    @Test("access is stored per business, replaced whole, and its device token forgotten with it", arguments: StorageKind.available)
    func access(kind: StorageKind) async throws {
        try await check(kind) { storage in
            let business = TestBusiness().id, other = TestBusiness().id
            #expect(try await storage.kaspiAccess(of: business) == nil)
            try await storage.storeKaspiAccess(StoredKaspiAccess(scheme: "r3", sealed: [1, 2, 3], sealedDeviceToken: nil, updatedAt: 10), business: business)
            try await storage.storeKaspiDeviceToken([9, 9], business: business)
            #expect(try await storage.kaspiAccess(of: business) == StoredKaspiAccess(scheme: "r3", sealed: [1, 2, 3], sealedDeviceToken: [9, 9], updatedAt: 10))
            try await storage.storeKaspiAccess(StoredKaspiAccess(scheme: "r1", sealed: [4], sealedDeviceToken: [7], updatedAt: 20), business: business)
            #expect(try await storage.kaspiAccess(of: business) == StoredKaspiAccess(scheme: "r1", sealed: [4], sealedDeviceToken: nil, updatedAt: 20))
            #expect(try await storage.kaspiAccess(of: other) == nil)
        }
    }

    @Test("an operation is claimed once; a stale claim is taken over; a done one is never claimed again", arguments: StorageKind.available)
    func claims(kind: StorageKind) async throws {
        try await check(kind) { storage in
            let business = TestBusiness().id, other = TestBusiness().id
            let pending = KaspiOperation(kind: .payment, id: "pay-1", qrPaymentID: "", state: .pending, claimedAt: 1000, record: Array("first".utf8))
            let first = try await storage.claimKaspiOperation(pending, staleBefore: 0, business: business)
            #expect(first.claimed && first.stored == pending)
            // Another attempt while the claim is fresh: not claimed, the first one's record.
            var again = pending
            again.claimedAt = 1500
            again.record = Array("second".utf8)
            let busy = try await storage.claimKaspiOperation(again, staleBefore: 900, business: business)
            #expect(!busy.claimed && busy.stored.record == Array("first".utf8))
            // Once the claim is stale it is taken over, keeping the stored record.
            let taken = try await storage.claimKaspiOperation(again, staleBefore: 1200, business: business)
            #expect(taken.claimed && taken.stored.claimedAt == 1500 && taken.stored.record == Array("first".utf8))
            // Another business's id of the same name is its own.
            #expect(try await storage.claimKaspiOperation(pending, staleBefore: 0, business: other).claimed)

            var done = taken.stored
            done.state = .done
            done.qrPaymentID = "100000001"
            done.record = Array("done".utf8)
            try await storage.saveKaspiOperation(done, business: business)
            #expect(try await storage.kaspiOperation(.payment, id: "pay-1", business: business) == done)
            #expect(try await storage.kaspiPayment(qrPaymentID: "100000001", business: business) == done)
            #expect(try await storage.kaspiPayment(qrPaymentID: "100000001", business: other) == nil)
            var late = pending
            late.claimedAt = 99_999
            let never = try await storage.claimKaspiOperation(late, staleBefore: 99_999, business: business)
            #expect(!never.claimed && never.stored == done)
            // A refund of the same id is another operation.
            #expect(try await storage.kaspiOperation(.refund, id: "pay-1", business: business) == nil)

            try await storage.deleteKaspiOperation(.payment, id: "pay-1", business: business)
            #expect(try await storage.kaspiOperation(.payment, id: "pay-1", business: business) == nil)
            #expect(try await storage.kaspiOperation(.payment, id: "pay-1", business: other) != nil)
        }
    }

    @Test("of many concurrent claims of one operation, exactly one wins", arguments: StorageKind.available)
    func concurrentClaims(kind: StorageKind) async throws {
        try await check(kind) { storage in
            let business = TestBusiness().id
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for attempt in 0..<16 {
                    group.addTask {
                        let operation = KaspiOperation(kind: .refund, id: "refund-1", qrPaymentID: "1", state: .pending, claimedAt: 5000 + Int64(attempt),
                                                       record: [UInt8(attempt)])
                        return try await storage.claimKaspiOperation(operation, staleBefore: 0, business: business).claimed
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
        }
    }

    @Test("the gateway stores the access sealed in every storage: no secret in the row, and it opens for its own business only", arguments: StorageKind.available)
    func sealedAccess(kind: StorageKind) async throws {
        let key = try KaspiSealingKey(bytes: Sodium.randomBytes(32))
        try await check(kind) { storage in
            try await Self.sealedAccess(storage, key: key)
        }
    }

    static func sealedAccess<S: RelayStorage>(_ storage: S, key: KaspiSealingKey) async throws {
        let gateway = KaspiGateway(storage: storage, settings: KaspiGatewaySettings(sealingKey: key), http: HTTPClientOutbound.shared, logger: quietLogger)
        let business = TestBusiness().id, other = TestBusiness().id
        let apiKey = "kaspi-api-key-" + Sodium.randomBytes(8).hexString
        let access = KaspiAccess(scheme: .r1, baseURL: "https://kaspi.example:8545", tradePointID: 7, deviceID: "edgenode-relay", organizationBIN: "123456789012",
                                 apiKey: apiKey)
        try await gateway.setAccess(access, business: business)
        let row = try #require(try await storage.kaspiAccess(of: business))
        #expect(row.scheme == "r1")
        for secret in [apiKey, "kaspi.example", "123456789012"] {
            #expect(!String(decoding: row.sealed, as: UTF8.self).contains(secret))
        }
        let summary = try #require(try await gateway.accessSummary(business: business))
        #expect(summary.tradePointID == 7 && summary.credential == "API key" && !summary.description.contains(apiKey))
        // Moved to another business, the sealed access does not open.
        try await storage.storeKaspiAccess(row, business: other)
        await #expect(throws: RelayError.self) { _ = try await gateway.accessSummary(business: other) }
        // An incomplete access is refused before anything is stored.
        var incomplete = access
        incomplete.apiKey = nil
        await #expect(throws: KaspiError.self) { try await gateway.setAccess(incomplete, business: other) }
    }
}
