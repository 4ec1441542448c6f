// `replication-torture`: a process the crash-safety tests kill with SIGKILL in the middle of
// local writes or of a merge. It prints one line per acknowledged step, flushed at once.
import Foundation
import Logging
import Replication

let logger: Logger = {
    var logger = Logger(label: "torture")
    logger.logLevel = .critical
    return logger
}()

/// Writes a line straight to the file descriptor (no buffering), so that what the test reads
/// before the kill is exactly what was acknowledged.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

let schema: [(id: String, sql: String)] = [
    ("torture-1", "CREATE TABLE torture_rows (id TEXT PRIMARY KEY NOT NULL, n INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL DEFAULT '')"),
]

func open(_ path: String) -> ReplicaStore {
    do {
        let store = try ReplicaDirectory(path: path).openStore(logger: logger)
        try store.migrate(schema)
        try store.register("torture_rows", as: .lastWriterWins)
        return store
    } catch { fail("cannot open \(path): \(error)") }
}

guard arguments.count >= 2, let dataDirectory = option("--data-dir") else {
    fail("usage: replication-torture write|merge --data-dir DIR [--count N] [--source DIR] [--batch N]")
}
let store = open(dataDirectory)
let count = Int(option("--count") ?? "") ?? Int.max

switch arguments[1] {
case "write":
    // One row per transaction; "ack ID" is printed only after `write` returned (committed).
    let payload = String(repeating: "x", count: 200)
    var n = 0
    while n < count {
        let id = UUIDv7.generate()
        do {
            try store.write { tx in
                try tx.insert("torture_rows", ["id": .text(id), "n": .integer(Int64(n)), "payload": .text(payload)])
                if n > 0 && n % 7 == 0, let previous = try tx.scalar("SELECT id FROM torture_rows WHERE n = ?", [.integer(Int64(n - 1))]) {
                    try tx.update("torture_rows", key: previous, ["payload": .text("updated")])
                }
            }
        } catch { fail("write failed: \(error)") }
        say("ack \(id)")
        n += 1
    }
case "merge":
    guard let sourcePath = option("--source") else { fail("merge needs --source DIR") }
    let batch = Int(option("--batch") ?? "") ?? 100
    let source = open(sourcePath)
    while true {
        do {
            let missing = try source.changesets(missingFrom: store.versionVector, limit: batch)
            if missing.isEmpty { break }
            let report = try store.apply(missing.map(\.bytes))
            guard report.rejected.isEmpty else { fail("rejected: \(report.rejected)") }
            say("applied \(store.versionVector[source.site])")
        } catch { fail("merge failed: \(error)") }
    }
    say("done")
default:
    fail("unknown mode \(arguments[1])")
}
