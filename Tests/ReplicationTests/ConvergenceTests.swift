import Foundation
import Testing
@testable import Replication
import TestSupport

/// Randomised convergence: replicas edit apart (random partitions), exchange changesets in random
/// subsets and orders with duplicates and delays, and must end byte-identical.
@Suite("Convergence properties")
struct ConvergenceTests {
    /// Fixed seeds in CI; `EDGENODE_CONVERGENCE_SEEDS=N` runs seeds 1…N instead (for long local runs).
    static let seeds: [UInt64] = {
        if let count = ProcessInfo.processInfo.environment["EDGENODE_CONVERGENCE_SEEDS"].flatMap(UInt64.init), count > 0 {
            return Array(1...count)
        }
        return [1, 2, 3, 20_261_121]
    }()

    @Test("replicas converge under random operations, partitions, reordering, duplication and delay", arguments: seeds)
    func converge(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let owner = SigningKey(seed: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })!
        let business = TestBusiness(owner: owner)
        let clock = TestClock()
        let replicaCount = 4
        let operations = 1500
        var replicas: [ReplicaStore] = []
        for index in 0..<replicaCount {
            let key = SigningKey(seed: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })!
            replicas.append(try business.makeReplica(key: key, clock: clock.physical, name: "seed\(seed)-\(index)"))
        }
        func key(_ n: Int) -> String {
            var bytes = [UInt8](repeating: 0, count: 16)
            bytes[15] = UInt8(truncatingIfNeeded: n)
            bytes[14] = UInt8(truncatingIfNeeded: n >> 8)
            UUIDv7.stamp(&bytes, milliseconds: 1_790_000_000_000)
            return UUIDv7.format(bytes)
        }
        let keyPool = (0..<40).map(key)
        var noteCounter = 1000
        var delayed: [(target: Int, bytes: [UInt8])] = []
        var connected = Array(repeating: Array(repeating: true, count: replicaCount), count: replicaCount)
        let names = ["Aigerim", "Dana", "Sultan", "Ольга", "Иван", "Rahim", "Chloe", "Askar"]

        for step in 0..<operations {
            clock.advance(milliseconds: Int64(UInt64.random(in: 0...1, using: &random) * UInt64.random(in: 0...1, using: &random)))
            let r = Int.random(in: 0..<replicaCount, using: &random)
            let replica = replicas[r]
            let roll = Int.random(in: 0..<100, using: &random)
            do {
                switch roll {
                case 0..<25:   // insert (or re-insert)
                    let k = keyPool.randomElement(using: &random)!
                    let exists = try replica.value("clients", k, "id") != nil
                    if !exists {
                        try replica.write { try $0.insert("clients", ["id": .text(k), "name": .text(names.randomElement(using: &random)!), "visits": .integer(Int64(step))]) }
                    }
                case 25..<60:   // update one to three columns
                    let k = keyPool.randomElement(using: &random)!
                    guard try replica.value("clients", k, "id") != nil else { break }
                    var values: [String: SQLValue] = [:]
                    for _ in 0..<Int.random(in: 1...3, using: &random) {
                        switch Int.random(in: 0..<5, using: &random) {
                        case 0: values["name"] = .text(names.randomElement(using: &random)! + " \(step)")
                        case 1: values["phone"] = .text("+7701\(step)")
                        case 2: values["visits"] = .integer(Int64.random(in: 0...50, using: &random))
                        case 3: values["balance"] = Bool.random(using: &random) ? .real(Double(step) / 8) : .null
                        default: values["photo"] = .blob([UInt8(step & 0xFF), UInt8(r)])
                        }
                    }
                    try replica.write { try $0.update("clients", key: .text(k), values) }
                case 60..<70:   // delete
                    let k = keyPool.randomElement(using: &random)!
                    guard try replica.value("clients", k, "id") != nil else { break }
                    try replica.write { try $0.delete("clients", key: .text(k)) }
                case 70..<75:   // append-only fact
                    noteCounter += 1
                    let note = key(noteCounter)
                    try replica.write { try $0.insert("notes", ["id": .text(note), "client": .text(keyPool.randomElement(using: &random)!), "body": .text("note \(step) by \(r)")]) }
                case 75..<95:   // partial, shuffled delivery to a connected peer; some delayed, some duplicated
                    let target = Int.random(in: 0..<replicaCount, using: &random)
                    guard target != r, connected[r][target] else { break }
                    var batch = try replica.changesets(missingFrom: replicas[target].versionVector, limit: .max).map(\.bytes)
                    batch = batch.filter { _ in Int.random(in: 0..<3, using: &random) > 0 }
                    if Bool.random(using: &random), let old = try replica.changesets(missingFrom: VersionVector(), limit: 5).randomElement(using: &random) {
                        batch.append(old.bytes)   // a duplicate of something old
                    }
                    batch.shuffle(using: &random)
                    let split = Int.random(in: 0...batch.count, using: &random)
                    for bytes in batch[split...] { delayed.append((target, bytes)) }
                    _ = try replicas[target].apply(Array(batch[..<split]))
                case 95..<98:   // deliver some delayed changesets
                    delayed.shuffle(using: &random)
                    let count = Int.random(in: 0...delayed.count, using: &random)
                    for (target, bytes) in delayed.prefix(count) { _ = try replicas[target].apply([bytes]) }
                    delayed.removeFirst(count)
                default:   // partition or heal a link
                    let a = Int.random(in: 0..<replicaCount, using: &random), b = Int.random(in: 0..<replicaCount, using: &random)
                    connected[a][b].toggle()
                    connected[b][a] = connected[a][b]
                }
            } catch {
                Issue.record("seed \(seed), step \(step): \(error)")
                return
            }
        }

        // Heal everything and exchange until every vector is equal.
        for (target, bytes) in delayed { _ = try replicas[target].apply([bytes]) }
        for _ in 0..<3 {
            for a in replicas { for b in replicas where a !== b { try sync(a, to: b) } }
        }
        let dumps = try replicas.map { try $0.canonicalDump() }
        for (index, dump) in dumps.enumerated() {
            #expect(dump == dumps[0], "seed \(seed): replica \(index) diverged from replica 0")
            #expect(replicas[index].versionVector == replicas[0].versionVector, "seed \(seed)")
            #expect(replicas[index].gaps.isEmpty, "seed \(seed)")
        }
        #expect(dumps[0].contains("tombstone"), "seed \(seed): the run should have exercised deletes")

        // A replica that receives everything in a different order (reversed, in small batches) agrees.
        let late = try business.makeReplica(clock: clock.physical, name: "seed\(seed)-late")
        var everything = try replicas[0].changesets(missingFrom: VersionVector(), limit: .max).map(\.bytes)
        everything.shuffle(using: &random)
        var index = 0
        while index < everything.count {
            let size = Int.random(in: 1...20, using: &random)
            _ = try late.apply(Array(everything[index..<min(index + size, everything.count)]))
            index += size
        }
        for replica in replicas { try sync(late, to: replica) }   // its own certificate
        try sync(replicas[0], to: late)
        #expect(try late.canonicalDump() == replicas[0].canonicalDump(), "seed \(seed): late replica diverged")
        for replica in replicas {
            let integrity = try replica.read { try $0.scalar("PRAGMA integrity_check") }
            #expect(integrity == .text("ok"))
        }
    }
}
