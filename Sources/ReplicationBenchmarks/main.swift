// `edgenode-bench`: replication overhead against plain SQLite, measured in the same run.
//
//   swift run -c release edgenode-bench [--rows 100000] [--batch 100] [--synchronous NORMAL]
//
// Every figure is printed next to its baseline (the same work on plain SQLite through the same
// thin wrapper, with the same pragmas) and as a ratio. See docs/benchmarks.md.
import Foundation
import Logging
import Replication

let arguments = CommandLine.arguments
@MainActor func option(_ name: String, _ fallback: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}
let rowCount = Int(option("--rows", "100000"))!
let batchSize = Int(option("--batch", "100"))!
let synchronous = option("--synchronous", "NORMAL")
let repetitions = Int(option("--repeat", "3"))!

let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    return logger
}()
let workDirectory = option("--dir", NSTemporaryDirectory()) + "/edgenode-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: workDirectory) }

let createTable = """
    CREATE TABLE clients (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '', visits INTEGER NOT NULL DEFAULT 0, balance INTEGER NOT NULL DEFAULT 0)
    """
let columns = ["name", "phone", "email", "visits", "balance"]

struct Row {
    let id: String
    let values: [SQLValue]
}
let firstNames = ["Aigerim", "Dana", "Sultan", "Askar", "Ольга", "Иван", "Rahim", "Chloe"]
let rows: [Row] = (0..<rowCount).map { n in
    Row(id: UUIDv7.generate(milliseconds: 1_790_000_000_000 + UInt64(n)), values: [
        .text("\(firstNames[n % firstNames.count]) \(n)"), .text("+7701\(String(format: "%07d", n))"),
        .text("client\(n)@example.kz"), .integer(Int64(n % 40)), .integer(Int64(n * 100)),
    ])
}
var generator = SystemRandomNumberGenerator()
let updates: [(Int, Int64)] = (0..<rowCount).map { _ in (Int.random(in: 0..<rowCount, using: &generator), Int64.random(in: 0...1000, using: &generator)) }

var fileCounter = 0
@MainActor func freshPath() -> String {
    fileCounter += 1
    return workDirectory + "/db\(fileCounter).sqlite"
}

@MainActor func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

@MainActor func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return seconds(ContinuousClock.now - start)
}

@MainActor func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

@MainActor func plainDatabase() throws -> SQLiteConnection {
    let connection = try SQLiteConnection(path: freshPath())
    try connection.execute("PRAGMA journal_mode = WAL")
    try connection.execute("PRAGMA synchronous = \(synchronous)")
    try connection.execute("PRAGMA cache_size = -\(16 * 1024)")   // the store's default
    try connection.execute(createTable)
    return connection
}

let owner = SigningKey.generate()
@MainActor func replica() throws -> ReplicaStore {
    let key = SigningKey.generate()
    var configuration = ReplicaConfiguration(path: freshPath())
    configuration.synchronous = synchronous
    let certificate = try Certificate.issue(by: owner, for: key.publicKey, role: "box", branch: "bench", notBefore: 0, notAfter: Int64.max / 2)
    let store = try ReplicaStore(configuration: configuration, identity: key, ownerKey: owner.publicKey, certificate: certificate, logger: logger)
    try store.migrate([("1", createTable)])
    try store.register("clients", as: .lastWriterWins)
    return store
}

/// Calls `body` with consecutive slices of at most `size` elements.
func forEachBatch<T>(_ items: ArraySlice<T>, size: Int, _ body: (ArraySlice<T>) throws -> Void) rethrows {
    var start = items.startIndex
    while start < items.endIndex {
        let end = min(start + size, items.endIndex)
        try body(items[start..<end])
        start = end
    }
}

/// The insert of `row` as the replica's API takes it.
@MainActor func replicaValues(_ row: Row) -> [String: SQLValue] {
    var values: [String: SQLValue] = ["id": .text(row.id)]
    for (column, value) in zip(columns, row.values) { values[column] = value }
    return values
}

@MainActor func plainInsert(_ db: SQLiteConnection) throws {
    let insert = try db.prepare("INSERT INTO clients (id, name, phone, email, visits, balance) VALUES (?, ?, ?, ?, ?, ?)")
    try forEachBatch(rows[...], size: batchSize) { batch in
        try db.execute("BEGIN")
        for row in batch { try insert.run([.text(row.id)] + row.values) }
        try db.execute("COMMIT")
    }
}

@MainActor func replicaInsert(_ store: ReplicaStore, _ rows: ArraySlice<Row>) throws {
    try forEachBatch(rows, size: batchSize) { batch in
        try store.write { tx in
            for row in batch { try tx.insert("clients", replicaValues(row)) }
        }
    }
}

@MainActor func plainUpdate(_ db: SQLiteConnection) throws {
    let update = try db.prepare("UPDATE clients SET visits = ? WHERE id = ?")
    try forEachBatch(updates[...], size: batchSize) { batch in
        try db.execute("BEGIN")
        for (row, value) in batch { try update.run([.integer(value), .text(rows[row].id)]) }
        try db.execute("COMMIT")
    }
}

@MainActor func replicaUpdate(_ store: ReplicaStore) throws {
    try forEachBatch(updates[...], size: batchSize) { batch in
        try store.write { tx in
            for (row, value) in batch { try tx.update("clients", key: .text(rows[row].id), ["visits": .integer(value)]) }
        }
    }
}

print("edgenode-bench: \(rowCount) rows, \(batchSize) per transaction, synchronous=\(synchronous), files in \(workDirectory), median of \(repetitions) runs")
print("")

// 1. Local writes.
var plainInsertTimes: [Double] = [], replicaInsertTimes: [Double] = []
var plainUpdateTimes: [Double] = [], replicaUpdateTimes: [Double] = []
var lastReplica: ReplicaStore!
var lastPlain: SQLiteConnection!
for _ in 0..<repetitions {
    let db = try plainDatabase()
    plainInsertTimes.append(try measure { try plainInsert(db) })
    plainUpdateTimes.append(try measure { try plainUpdate(db) })
    let store = try replica()
    replicaInsertTimes.append(try measure { try replicaInsert(store, rows[...]) })
    replicaUpdateTimes.append(try measure { try replicaUpdate(store) })
    lastReplica = store
    lastPlain = db
}
/// Prints medians and the median of the per-run ratios (each run measures both sides back to back).
@MainActor func line(_ label: String, _ replica: [Double], _ plain: [Double], unit: Int) {
    let ratios = zip(replica, plain).map { $0 / $1 }.sorted()
    let r = median(replica), p = median(plain)
    let padded = label.padding(toLength: 24, withPad: " ", startingAt: 0)
    print(String(format: "%@ replica %7.3f s (%8.0f/s)  plain SQLite %7.3f s (%8.0f/s)  ratio %.2fx (runs %.2f–%.2f)",
                 padded, r, Double(unit) / r, p, Double(unit) / p, ratios[ratios.count / 2], ratios.first!, ratios.last!))
}
line("inserts", replicaInsertTimes, plainInsertTimes, unit: rowCount)
line("single-column updates", replicaUpdateTimes, plainUpdateTimes, unit: rowCount)

// 2. Metadata and wire size after the insert + update run.
let (userBytes, metaBytes, logBytes, cellChanges, changesetCount): (Int64, Int64, Int64, Int64, Int64) = try lastReplica.read { tx in
    let user = try tx.scalar("SELECT sum(length(CAST(id AS BLOB)) + length(CAST(name AS BLOB)) + length(CAST(phone AS BLOB)) + length(CAST(email AS BLOB)) + 8 + 8) FROM clients")!.integerValue!
    let meta = try tx.scalar("SELECT sum(length(crdt_meta)) FROM clients")!.integerValue!
    let log = try tx.scalar("SELECT sum(length(bytes)) FROM edgenode_changesets")!.integerValue!
    let count = try tx.scalar("SELECT count(*) FROM edgenode_changesets")!.integerValue!
    return (user, meta, log, Int64(rowCount * (columns.count + 1) + rowCount), count)
}
print("")
print(String(format: "metadata: %lld bytes of crdt_meta for %lld bytes of user data = %.3f per byte (goal <= 0.5)", metaBytes, userBytes, Double(metaBytes) / Double(userBytes)))
print(String(format: "changeset log: %lld bytes in %lld changesets = %.2f per byte of user data (kept until compaction)", logBytes, changesetCount, Double(logBytes) / Double(userBytes)))
print(String(format: "wire: %.1f bytes per column change (inserts: key + 5 columns a row; updates: one column), %lld changes", Double(logBytes) / Double(cellChanges), cellChanges))
let replicaFile = (try FileManager.default.attributesOfItem(atPath: lastReplica.configuration.path)[.size] as? Int) ?? 0
let replicaWal = (try? FileManager.default.attributesOfItem(atPath: lastReplica.configuration.path + "-wal")[.size] as? Int) ?? 0
_ = lastPlain

// 3. Merge: 100,000 remote column changes (rows x 5 columns).
let mergeRows = rowCount / columns.count
let source = try replica()
try replicaInsert(source, rows[..<mergeRows])
let changesets = try source.changesets(missingFrom: VersionVector(), limit: .max).map(\.bytes)
let columnChanges = mergeRows * columns.count
var plainMergeTimes: [Double] = [], replicaMergeTimes: [Double] = []
for _ in 0..<repetitions {
    let db = try plainDatabase()
    plainMergeTimes.append(try measure {
        let upsert = try db.prepare("INSERT OR REPLACE INTO clients (id, name, phone, email, visits, balance) VALUES (?, ?, ?, ?, ?, ?)")
        try forEachBatch(rows[..<mergeRows], size: batchSize * 50) { batch in
            try db.execute("BEGIN")
            for row in batch { try upsert.run([.text(row.id)] + row.values) }
            try db.execute("COMMIT")
        }
    })
    let target = try replica()
    replicaMergeTimes.append(try measure {
        try forEachBatch(changesets[...], size: 50) { batch in
            let report = try target.apply(Array(batch))
            precondition(report.rejected.isEmpty, "\(report.rejected)")
        }
    })
    let merged = try target.read { try $0.scalar("SELECT count(*) FROM clients") }
    precondition(merged == .integer(Int64(mergeRows)))
}
print("")
line("merge", replicaMergeTimes, plainMergeTimes, unit: columnChanges)
print(String(format: "merge throughput: %.0f column changes/s (%d changes in %d changesets, 50 changesets per batch)", Double(columnChanges) / median(replicaMergeTimes), columnChanges, changesets.count))
print("")
// 4. The fixed costs per changeset: Ed25519 signature and verification, BLAKE2b hash.
let signer = SigningKey.generate()
let message = [UInt8](repeating: 7, count: changesets.count > 1 ? changesets[1].count : 6000)
var signature: [UInt8] = []
let signTime = measure { for _ in 0..<500 { signature = signer.sign(message) } } / 500
let verifyTime = measure { for _ in 0..<500 { precondition(signer.publicKey.verify(signature, over: message)) } } / 500
let hashTime = measure { for _ in 0..<500 { _ = Sodium.blake2b(message) } } / 500
print(String(format: "per changeset of %d bytes: sign %.1f µs, verify %.1f µs, BLAKE2b-256 %.1f µs", message.count, signTime * 1e6, verifyTime * 1e6, hashTime * 1e6))
print("")
print("replica file after inserts+updates: \(replicaFile + replicaWal) bytes (database + WAL)")
