import Foundation
import Testing
import Replication
import TestSupport

/// Real processes on real files, killed with SIGKILL.
@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    static let logger: Logger = { var l = Logger(label: "test"); l.logLevel = .critical; return l }()

    @Test("SIGKILL during local writes: the file is consistent and every acknowledged write is there", arguments: [1, 2, 3])
    func killDuringWrites(round: Int) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try run(Binaries.edgenode, ["init", "--data-dir", directory, "--branch", "crash", "--time-zone", "Asia/Atyrau"])
        let writer = try ChildProcess(name: "writer", program: Binaries.torture, arguments: ["write", "--data-dir", directory], keepErrors: false)
        var acknowledged: [String] = []
        let target = 150 * round
        while acknowledged.count < target, let line = writer.nextLine() {
            if line.hasPrefix("ack ") { acknowledged.append(String(line.dropFirst(4))) }
        }
        writer.kill()
        // Lines it wrote before it was killed may still be in the pipe.
        while let line = writer.nextLine() {
            if line.hasPrefix("ack ") { acknowledged.append(String(line.dropFirst(4))) }
        }
        #expect(acknowledged.count >= target)

        let store = try ReplicaDirectory(path: directory).openStore(logger: Self.logger)
        try store.migrate([("torture-1", "CREATE TABLE torture_rows (id TEXT PRIMARY KEY NOT NULL, n INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL DEFAULT '')")])
        try store.register("torture_rows", as: .lastWriterWins)
        try store.read { tx in
            #expect(try tx.scalar("PRAGMA integrity_check") == .text("ok"))
            let present = Set(try tx.rows("SELECT id FROM torture_rows").compactMap { $0[0].textValue })
            let missing = acknowledged.filter { !present.contains($0) }
            #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(5))")
            // Every committed row has its changeset: rows = own changesets − init's three (certificate, branch, owner).
            let own = try tx.scalar("SELECT count(*) FROM edgenode_changesets")!.integerValue!
            #expect(Int64(present.count) == own - 3)
        }
        // The chain is intact and the replica keeps working.
        let log = try store.changesets(missingFrom: VersionVector(), limit: .max)
        for (previous, next) in zip(log, log.dropFirst()) { #expect(next.changeset.previousHash == previous.hash) }
        try store.write { try $0.insert("torture_rows", ["id": .text(UUIDv7.generate())]) }
    }

    @Test("SIGKILL during a merge: each batch is applied wholly or not at all")
    func killDuringMerge() throws {
        let source = temporaryDirectory(), target = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: target)
        }
        try run(Binaries.edgenode, ["init", "--data-dir", source, "--branch", "source", "--time-zone", "Asia/Atyrau"])
        try run(Binaries.torture, ["write", "--data-dir", source, "--count", "1500"])
        let publicKey = try run(Binaries.edgenode, ["keygen", "--data-dir", target]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try run(Binaries.edgenode, ["certify", "--data-dir", source, "--public-key", publicKey, "--branch", "target", "--out", target + "/cert.bin"])
        try run(Binaries.edgenode, ["join", "--data-dir", target, "--certificate", target + "/cert.bin"])

        let batch = 50
        let merger = try ChildProcess(name: "merger", program: Binaries.torture, arguments: ["merge", "--data-dir", target, "--source", source, "--batch", "\(batch)"],
                                      keepErrors: false)
        var applied = 0
        while applied < 5, let line = merger.nextLine() { if line.hasPrefix("applied ") { applied += 1 } }
        usleep(useconds_t(UInt32.random(in: 0...20_000)))
        merger.kill()
        #expect(applied == 5)

        let sourceStore = try ReplicaDirectory(path: source).openStore(logger: Self.logger)
        let store = try ReplicaDirectory(path: target).openStore(logger: Self.logger)
        try store.migrate([("torture-1", "CREATE TABLE torture_rows (id TEXT PRIMARY KEY NOT NULL, n INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL DEFAULT '')")])
        try store.register("torture_rows", as: .lastWriterWins)
        let merged = store.versionVector[sourceStore.site]
        #expect(merged % UInt64(batch) == 0 || merged == sourceStore.versionVector[sourceStore.site], "a batch was applied partly: \(merged)")
        #expect(merged >= UInt64(5 * batch))
        try store.read { tx in
            #expect(try tx.scalar("PRAGMA integrity_check") == .text("ok"))
            let rows = try tx.scalar("SELECT count(*) FROM torture_rows")!.integerValue!
            #expect(rows == Int64(merged) - 3)   // changesets 1–3 are init's (certificate, branch, owner); each later one inserts one row
            #expect(try tx.scalar("SELECT count(*) FROM edgenode_changesets WHERE site = (SELECT idx FROM edgenode_sites WHERE site = ?)",
                                  [.blob(sourceStore.site.bytes)])?.integerValue == Int64(merged))
        }
        // The interrupted merge resumes without duplicates or gaps.
        let rest = try sourceStore.changesets(missingFrom: store.versionVector, limit: .max)
        let report = try store.apply(rest.map(\.bytes))
        #expect(report.duplicates.isEmpty && report.rejected.isEmpty && report.gaps.isEmpty)
        #expect(store.versionVector[sourceStore.site] == sourceStore.versionVector[sourceStore.site])
    }
}

import Logging
