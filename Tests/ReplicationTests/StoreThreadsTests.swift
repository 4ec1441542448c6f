import Foundation
@testable import Replication
import Testing
import TestSupport

/// `ReplicaStore.perform`: async callers get the store's blocking work run on the store's own
/// threads, and inline on the unit's thread inside a unit of work.
@Suite("Store threads")
struct StoreThreadsTests {
    struct Abandon: Error {}

    @Test("outside a unit of work, perform runs the store's work on one of the store's threads, not the caller's")
    func hopsOffTheCaller() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        #expect(!ReplicaStore.isOnStoreThread)
        let key = newKey()
        let ranOnStoreThread = try await store.perform { () -> Bool in
            try store.write { try $0.insert("clients", ["id": .text(key), "name": .text("Aigerim")]) }
            return ReplicaStore.isOnStoreThread
        }
        #expect(ranOnStoreThread)
        #expect(try store.count("clients") == 1)
        // Many callers at once all get their answer (the threads take jobs first come, first served).
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<32 { group.addTask { try await store.perform { try store.count("clients") } } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts == Array(repeating: 1, count: 32))
    }

    @Test("inside a unit of work, perform runs inline on the unit's thread, and its writes are the unit's")
    func inlineInsideAUnit() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let before = store.versionVector
        // A hop to another thread would wait for the lock the unit holds: bounded, so a regression fails instead of hanging.
        _ = try await withTimeout(.seconds(60), "a unit of work calling perform") {
            await #expect(throws: Abandon.self) {
                try await store.unitOfWork {
                    let onStoreThread = try await store.perform { () -> Bool in
                        try store.write { try $0.insert("clients", ["id": .text(newKey()), "name": .text("Dana")]) }
                        return ReplicaStore.isOnStoreThread
                    }
                    #expect(!onStoreThread)
                    #expect(try await store.perform { try store.count("clients") } == 1)
                    throw Abandon()
                }
            }
        }
        // The write made through perform was part of the unit: rolled back with it.
        #expect(try store.count("clients") == 0)
        #expect(store.versionVector == before)
    }
}
