import Dispatch
import Foundation
@testable import Replication
import Testing
import TestSupport

/// `ReplicaStore.snapshotRead`: long reads on read-only reader connections (WAL).
@Suite("Reader connections")
struct ReaderTests {
    struct Stuck: Error, CustomStringConvertible { var description: String { "the reader never started its read" } }

    @Test("a long read in progress on a reader connection does not block a write, and reads the state as of its start")
    func longReadDoesNotBlockWrites() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        try store.write { try $0.insert("clients", ["id": .text(newKey()), "name": .text("Aigerim")]) }
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        // The "report": counts, tells the test it is inside its read, waits to be released, counts again.
        async let report = offPool { () throws -> (Int64, Int64) in
            try store.snapshotRead { transaction in
                let before = try transaction.scalar("SELECT count(*) FROM clients")?.integerValue ?? -1
                inside.signal()
                release.wait()
                let after = try transaction.scalar("SELECT count(*) FROM clients")?.integerValue ?? -1
                return (before, after)
            }
        }
        // Released whatever happens below, so a regression fails the test instead of hanging it.
        defer { release.signal() }
        try await offPool { guard inside.wait(timeout: .now() + 180) == .success else { throw Stuck() } }
        // The read is open now. A write on another thread must finish while it stays open; were the
        // report holding the store's lock, the write would wait for it and miss the deadline.
        let written = DispatchSemaphore(value: 0)
        let writer = Thread {
            try? store.write { try $0.insert("clients", ["id": .text(newKey()), "name": .text("Dana")]) }
            written.signal()
        }
        writer.start()
        let finished = try await offPool { written.wait(timeout: .now() + 180) == .success }
        #expect(finished, "a write waited for a long read on a reader connection")
        guard finished else {
            release.signal()
            _ = try? await report
            return
        }
        #expect(try store.count("clients") == 2)
        release.signal()
        let (before, after) = try await report
        // The report saw one consistent state: the one committed when it began.
        #expect(before == 1 && after == 1)
        // A new read on a reader sees the write.
        #expect(try store.snapshotRead { try $0.scalar("SELECT count(*) FROM clients")?.integerValue } == 2)
    }

    @Test("a reader refuses writes; inside a unit of work, snapshotRead reads the unit's own uncommitted writes")
    func readOnlyAndUnits() async throws {
        let business = TestBusiness()
        let store = try business.makeReplica()
        #expect(throws: SQLiteError.self) {
            try store.snapshotRead { transaction in _ = try transaction.rows("INSERT INTO local_cache (v) VALUES ('x') RETURNING v") }
        }
        try await store.unitOfWork {
            try store.write { try $0.insert("clients", ["id": .text(newKey()), "name": .text("Aigerim")]) }
            #expect(try store.snapshotRead { try $0.scalar("SELECT count(*) FROM clients")?.integerValue } == 1)
        }
    }
}
