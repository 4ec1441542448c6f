import Foundation
import Replication
import Synchronization

/// One change to a replicated row, in the order this replica committed it — whether a person
/// made it here or it arrived from another replica. `sequence` only grows; it is the
/// `Last-Event-ID` of the live event stream.
public struct ChangeEvent: Hashable, Sendable {
    public var sequence: Int64
    public var at: Instant
    /// The replicated table, e.g. `appointments`.
    public var table: String
    /// The row's primary key.
    public var key: String
}

/// The durable log of changes (`local_events`) and a wake-up signal for its readers.
///
/// The log is written by the change observer inside the transaction that changed the rows, so
/// a committed change always has its event and a rolled-back one never does. Readers wait on
/// `changes()` and then read the log after the last sequence they saw, so nothing is missed
/// between wake-ups.
public final class ChangeFeed: Sendable {
    /// Tables whose rows are not events of their own (an appointment's history changes its appointment too).
    static let silentTables: Set<String> = ["audit_events", "appointment_events"]

    private let state = Mutex<(readers: [UUID: AsyncStream<Void>.Continuation], closed: Bool)>(([:], false))

    init() {}

    /// Logs the changed rows, stamped with the replica's clock (pruning compares with the same clock).
    static func record(_ changes: ChangedRows, in transaction: DerivedStateTransaction, at now: Int64) throws {
        for table in changes.keys.keys.sorted() where !silentTables.contains(table) {
            for key in changes[table].map(\.string).sorted() {
                try transaction.execute("INSERT INTO local_events (at, tbl, key) VALUES (?, ?, ?)", [.integer(now), .text(table), .text(key)])
            }
        }
    }

    /// Wakes every reader; called after a transaction that may have logged events committed.
    func signal() {
        state.withLock { state in for continuation in state.readers.values { continuation.yield() } }
    }

    /// Ends every reader's stream, now and for streams opened later (graceful shutdown).
    public func finishAll() {
        let readers = state.withLock { state in
            state.closed = true
            defer { state.readers.removeAll() }
            return Array(state.readers.values)
        }
        for continuation in readers { continuation.finish() }
    }

    /// A stream that yields whenever new events may have been committed (coalesced: one
    /// wake-up may stand for many events). It ends when the reader stops iterating.
    public func changes() -> AsyncStream<Void> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.readers.removeValue(forKey: id) } }
        let closed = state.withLock { state in
            if !state.closed { state.readers[id] = continuation }
            return state.closed
        }
        if closed { continuation.finish() }
        return stream
    }

    /// How many readers are waiting (for metrics).
    public var readerCount: Int { state.withLock { $0.readers.count } }
}

extension Shop {
    /// Events after `sequence`, oldest first, at most `limit`.
    package func events(after sequence: Int64, limit: Int = 500) throws -> [ChangeEvent] {
        try read { transaction in
            try transaction.fetchAll("SELECT seq, at, tbl, key FROM local_events WHERE seq > ? ORDER BY seq LIMIT ?",
                                 [.integer(sequence), .int(limit)]).map {
                ChangeEvent(sequence: $0["seq"].int64, at: Instant(milliseconds: $0["at"].int64), table: $0["tbl"].string, key: $0["key"].string)
            }
        }
    }

    /// The oldest and newest sequence still in the log (nil when it is empty).
    package func eventBounds() throws -> (oldest: Int64, newest: Int64)? {
        try read { transaction in
            guard let row = try transaction.fetchOne("SELECT min(seq) AS oldest, max(seq) AS newest FROM local_events", []),
                  let oldest = row["oldest"].integerValue, let newest = row["newest"].integerValue else { return nil }
            return (oldest, newest)
        }
    }

    /// The newest sequence ever logged (AUTOINCREMENT never reuses one), 0 if none.
    package func latestEventSequence() throws -> Int64 {
        try read { transaction in
            try transaction.fetchOne("SELECT seq FROM sqlite_sequence WHERE name = 'local_events'", [])?["seq"].integerValue ?? 0
        }
    }

    /// Forgets events older than `instant`; a reader that resumes from before them must reload.
    @discardableResult
    package func pruneEvents(before instant: Instant) throws -> Int {
        try store.write { transaction in
            let count = try transaction.scalar("SELECT count(*) FROM local_events WHERE at < ?", [.instant(instant)])?.integerValue ?? 0
            try transaction.execute("DELETE FROM local_events WHERE at < ?", [.instant(instant)])
            return Int(count)
        }
    }
}
