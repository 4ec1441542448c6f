import Foundation
@testable import Replication
import Synchronization
import Testing

/// `ReplicaStore.unitOfWork`: several writes (replicated and local) and the async code between
/// them as one transaction.
@Suite("Unit of work")
struct UnitOfWorkTests {
    struct Abandon: Error {}

    /// Awaits something that really suspends, as a request handler does between its domain calls.
    static func suspend() async { await Task.yield() }

    @Test("writes inside a unit commit together, each with its own changeset, after the body's async code")
    func commitsTogether() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let before = store.versionVector[store.site]
        let (first, second) = (newKey(), newKey())
        try await store.unitOfWork {
            try store.write { try $0.insert("clients", ["id": .text(first), "name": .text("Aigerim")]) }
            await Self.suspend()
            // Reads inside the unit see its uncommitted writes.
            #expect(try store.value("clients", first, "name") == .text("Aigerim"))
            try store.write { transaction in
                try transaction.insert("clients", ["id": .text(second), "name": .text("Dana")])
                try transaction.execute("INSERT INTO local_cache (v) VALUES ('reply')")
            }
        }
        #expect(store.versionVector[store.site] == before + 2)
        #expect(try store.count("clients") == 2)
        #expect(try store.count("local_cache") == 1)
        let log = try store.changesets(missingFrom: VersionVector(), limit: .max)
        for (previous, next) in zip(log, log.dropFirst()) where next.changeset.author == store.site {
            #expect(next.changeset.previousHash == previous.hash)
        }
    }

    @Test("a unit whose body throws leaves nothing: no rows, no changesets, no local rows, the version vector as before")
    func rollsBackEverything() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let before = store.versionVector
        await #expect(throws: Abandon.self) {
            try await store.unitOfWork {
                try store.write { try $0.insert("clients", ["id": .text(newKey()), "name": .text("Aigerim")]) }
                await Self.suspend()
                try store.write { try $0.execute("INSERT INTO local_cache (v) VALUES ('reply')") }
                throw Abandon()
            }
        }
        #expect(store.versionVector == before)
        #expect(try store.count("clients") == 0)
        #expect(try store.count("local_cache") == 0)
        // The store keeps working, and its next changeset follows the last committed one.
        try store.write { try $0.insert("clients", ["id": .text(newKey()), "name": .text("Dana")]) }
        #expect(store.versionVector[store.site] == before[store.site] + 1)
        let log = try store.changesets(missingFrom: VersionVector(), limit: .max)
        for (previous, next) in zip(log, log.dropFirst()) { #expect(next.changeset.previousHash == previous.hash) }
    }

    @Test("a write that throws inside a unit undoes only itself; the unit's other writes commit")
    func failedWriteIsASavepoint() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let kept = newKey()
        try await store.unitOfWork {
            try store.write { try $0.insert("clients", ["id": .text(kept), "name": .text("Aigerim")]) }
            #expect(throws: Abandon.self) {
                try store.write { transaction in
                    try transaction.insert("clients", ["id": .text(newKey()), "name": .text("lost")])
                    throw Abandon()
                }
            }
            try store.write { try $0.execute("INSERT INTO local_cache (v) VALUES ('reply')") }
        }
        #expect(try store.count("clients") == 1)
        #expect(try store.value("clients", kept, "name") == .text("Aigerim"))
        #expect(try store.count("local_cache") == 1)
    }

    @Test("after-commit actions run after the commit, and not at all when the unit rolls back")
    func afterCommit() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let seen = Mutex<[Int]>([])
        try await store.unitOfWork {
            try store.write { try $0.insert("clients", ["id": .text(newKey())]) }
            store.afterCommit { seen.withLock { $0.append(1) } }
            #expect(seen.withLock { $0 }.isEmpty)
        }
        #expect(seen.withLock { $0 } == [1])
        try? await store.unitOfWork {
            store.afterCommit { seen.withLock { $0.append(2) } }
            throw Abandon()
        }
        store.afterCommit { seen.withLock { $0.append(3) } }
        #expect(seen.withLock { $0 } == [1, 3])
    }

    @Test("a reader on another thread waits for an open unit and never sees what it rolls back")
    func isolation() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        let written = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        async let unit: Void = store.unitOfWork {
            try store.write { try $0.insert("clients", ["id": .text(newKey())]) }
            written.continuation.yield()
            for await _ in release.stream { break }
            throw Abandon()
        }
        for await _ in written.stream { break }
        // The unit is open and has written; a reader elsewhere must wait for it (the store is held).
        let reader = Task.detached { try store.count("clients") }
        release.continuation.yield()
        do {
            try await unit
            Issue.record("the unit should have thrown")
        } catch is Abandon {}
        #expect(try await reader.value == 0)
    }
}
