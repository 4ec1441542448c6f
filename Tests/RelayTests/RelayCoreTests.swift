import Foundation
import Testing
@testable import Relay
@testable import Replication
import TestSupport

/// The relay's logic in-process (no HTTP), over a real SQLite file.
@Suite("Relay core")
struct RelayCoreTests {
    static let dataKey = DataKey(id: DataKeyID(1), bytes: [UInt8](repeating: 3, count: 32))!

    @Test("a large batch is verified in parallel and each result stays with its envelope")
    func parallelVerification() async throws {
        let storage = try SQLiteRelayStorage(path: temporaryDirectory() + "/relay.sqlite", logger: quietLogger)
        try await withRunningStorage(storage) { storage in
            let core = RelayCore(storage: storage, logger: quietLogger)
            let business = TestBusiness()
            let boxes = (0..<4).map { _ in business.box() }
            _ = try await storage.registerBusiness(business.id, ownerKey: business.owner.publicKey, at: 0)
            for box in boxes { _ = try await storage.addCertificate(box.certificate, business: business.id) }
            let valid = (0..<200).map { boxes[$0 % 4].nextEnvelope(dataKey: Self.dataKey).bytes }
            // Copies with a broken signature, interleaved at every fifth position.
            var batch: [[UInt8]] = []
            var broken: Set<Int> = []
            for (index, bytes) in valid.enumerated() {
                batch.append(bytes)
                if index % 5 == 0 {
                    var copy = bytes
                    copy[copy.count - 1] ^= 0x01
                    broken.insert(batch.count)
                    batch.append(copy)
                }
            }
            let results = try await core.push(batch, business: business.id)
            #expect(results.map(\.index) == Array(batch.indices))
            for result in results {
                if broken.contains(result.index) {
                    #expect(result.status == .refused && result.reason == "bad_signature", "\(result)")
                } else {
                    #expect(result.status == .stored, "\(result)")
                }
            }
            #expect(try await storage.heads(of: business.id).map(\.sequence) == [50, 50, 50, 50])
        }
    }
}
