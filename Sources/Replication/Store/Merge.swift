import CSQLite
import Logging

/// A changeset's content breaks a rule; the changeset is refused as a whole.
struct ContentRejection: Error {
    let reason: RejectionReason
    let message: String
}

/// One incoming cell, resolved to a local column id and a local site index.
struct IncomingCell {
    let column: Int
    let value: SQLValue
    let clock: CellClock
}

extension ReplicaStore {
    /// Verifies and applies a batch of signed changesets in one SQLite transaction.
    ///
    /// Each changeset is checked (format, business, author certificate, signature, hash chain)
    /// and then merged; one that fails is refused with a specific reason, recorded in
    /// `edgenode_rejections`, and changes nothing. Applying is idempotent and commutative:
    /// duplicates are acknowledged and ignored, and a changeset whose predecessor has not
    /// arrived is kept until it does.
    /// - Returns: what happened to each changeset, and the gaps that remain.
    /// - Throws: only for storage failures (then nothing of the batch is applied).
    public func apply(_ batch: [[UInt8]]) throws -> ApplyReport {
        try lock.withLock {
            try authorizer.with(.internal) {
                let saved = saveState()
                do {
                    try connection.execute("BEGIN IMMEDIATE")
                    var report = ApplyReport()
                    for bytes in batch {
                        let signed: SignedChangeset
                        do {
                            signed = try SignedChangeset.decode(bytes, limits: configuration.limits)
                        } catch {
                            let reason: RejectionReason = bytes.count > configuration.limits.maxBytes ? .tooLarge : .malformed
                            report.rejected.append(Rejection(id: nil, reason: reason, message: "\(error)"))
                            continue
                        }
                        try applyChain(startingWith: [signed], report: &report)
                    }
                    let now = Int64(configuration.physicalClock.now())
                    for rejection in report.rejected {
                        try connection.execute("INSERT INTO edgenode_rejections (at, author, seq, reason, message) VALUES (?, ?, ?, ?, ?)",
                                               [.integer(now), rejection.id.map { .blob($0.author.bytes) } ?? .null,
                                                rejection.id.map { .integer(Int64($0.sequence)) } ?? .null,
                                                .text(rejection.reason.rawValue), .text(rejection.message)])
                    }
                    report.gaps = try gapsLocked()
                    try flushChanges()
                    try persistClock()
                    try connection.execute("COMMIT")
                    for rejection in report.rejected {
                        logger.warning("changeset refused", metadata: [
                            "changeset.id": "\(rejection.id.map(\.description) ?? "-")",
                            "changeset.reason": "\(rejection.reason)",
                            "changeset.detail": "\(rejection.message)",
                        ])
                    }
                    return report
                } catch {
                    if connection.isInTransaction { try? connection.execute("ROLLBACK") }
                    restoreState(saved)
                    throw error
                }
            }
        }
    }

    /// Applies `first`, then every waiting successor it unblocks (iteratively, not recursively).
    func applyChain(startingWith first: [SignedChangeset], report: inout ApplyReport) throws {
        var queue = first
        while !queue.isEmpty {
            let signed = queue.removeFirst()
            guard try applyOne(signed, report: &report) else { continue }
            queue.append(contentsOf: try takeWaiting(siteIndex: siteIndex[signed.changeset.author]!, sequence: signed.changeset.sequence + 1))
        }
    }

    /// Removes and returns every waiting copy of one author's changeset `sequence` (normally one;
    /// several only when unverified or conflicting copies arrived), verified copies first.
    func takeWaiting(siteIndex: Int, sequence: UInt64) throws -> [SignedChangeset] {
        let arguments: [SQLValue] = [.integer(Int64(siteIndex)), .integer(Int64(sequence))]
        let candidates = try connection.rows("SELECT bytes FROM edgenode_pending WHERE site = ? AND seq = ? ORDER BY verified DESC, hash", arguments)
        guard !candidates.isEmpty else { return [] }
        try connection.execute("DELETE FROM edgenode_pending WHERE site = ? AND seq = ?", arguments)
        return candidates.compactMap { try? SignedChangeset.decode($0[0].blobValue ?? [], limits: configuration.limits) }
    }

    /// Keeps a changeset whose predecessors have not arrived. Copies are kept per hash, so a
    /// forged copy cannot displace the genuine one; all are verified when their turn comes.
    private func keepWaiting(_ signed: SignedChangeset, authorIndex: Int, verified: Bool) throws {
        try connection.execute("INSERT OR IGNORE INTO edgenode_pending (site, seq, hash, bytes, verified) VALUES (?, ?, ?, ?, ?)",
                               [.integer(Int64(authorIndex)), .integer(Int64(signed.changeset.sequence)), .blob(signed.hash),
                                .blob(signed.bytes), .integer(verified ? 1 : 0)])
    }

    /// The key that must have signed `signed`, from known certificates or one carried in the changeset itself.
    private func authorKey(for signed: SignedChangeset) throws(TrustError) -> PublicKey {
        let changeset = signed.changeset
        let stamp = Int64(changeset.clockMax.milliseconds)
        do {
            return try trust.authorKey(for: changeset.author, at: stamp)
        } catch let error where error.code == .unknownAuthor {
            // A replica's first changeset carries its own certificate.
            var candidate = trust
            for row in changeset.rows where row.table == "edgenode_certificates" {
                for cell in row.cells where cell.column == "certificate" {
                    if let bytes = cell.value.blobValue, let certificate = try? Certificate.decode(bytes),
                       certificate.subjectSite == changeset.author {
                        try candidate.add(certificate)
                    }
                }
            }
            return try candidate.authorKey(for: changeset.author, at: stamp)
        }
    }

    /// - Returns: true when the changeset was applied (so a waiting successor may follow).
    private func applyOne(_ signed: SignedChangeset, report: inout ApplyReport) throws -> Bool {
        let changeset = signed.changeset
        let id = ChangesetID(author: changeset.author, sequence: changeset.sequence)
        func reject(_ reason: RejectionReason, _ message: String) -> Bool {
            report.rejected.append(Rejection(id: id, reason: reason, message: message))
            return false
        }
        guard changeset.business == business else {
            return reject(.wrongBusiness, "changeset belongs to business \(changeset.business), this replica to \(business)")
        }
        let key: PublicKey
        do {
            key = try authorKey(for: signed)
        } catch let error where error.code == .unknownAuthor && changeset.sequence > 1 {
            // The author's certificate travels in its first changeset, which has not arrived yet:
            // keep this one (it is verified in full once it is next in line).
            let authorIndex = try index(of: changeset.author)
            if changeset.sequence > (vector[authorIndex] ?? 0) + 1 {
                try keepWaiting(signed, authorIndex: authorIndex, verified: false)
                report.waiting.append(id)
                return false
            }
            return reject(.unknownAuthor, error.message)
        } catch {
            let reason: RejectionReason = switch error.code {
            case .revoked: .revoked
            case .notValidAtTime: .certificateNotValid
            case .wrongBusiness: .wrongBusiness
            default: .unknownAuthor
            }
            return reject(reason, error.message)
        }
        guard signed.verifySignature(with: key) else {
            return reject(.badSignature, "signature does not verify against the certificate of site \(changeset.author)")
        }
        let hash = signed.hash
        let knownIndex = siteIndex[changeset.author]
        let current = knownIndex.flatMap { vector[$0] } ?? 0
        if changeset.sequence <= current {
            if let stored = try connection.scalar("SELECT hash FROM edgenode_changesets WHERE site = ? AND seq = ?",
                                                  [.integer(Int64(knownIndex!)), .integer(Int64(changeset.sequence))])?.blobValue,
               stored != hash {
                return reject(.equivocation, "a different changeset \(changeset.sequence) of this author was applied before (hash \(stored.hexString.prefix(16))…)")
            }
            report.duplicates.append(id)
            return false
        }
        let authorIndex = try index(of: changeset.author)
        if changeset.sequence > current + 1 {
            try keepWaiting(signed, authorIndex: authorIndex, verified: true)
            report.waiting.append(id)
            return false
        }
        let expected = heads[authorIndex] ?? [UInt8](repeating: 0, count: 32)
        guard changeset.previousHash == expected else {
            return reject(.brokenChain, "previous hash \(changeset.previousHash.hexString.prefix(16))… does not name changeset \(changeset.sequence - 1) of this author (\(expected.hexString.prefix(16))…)")
        }
        let saved = saveState()
        try connection.execute("SAVEPOINT edgenode_changeset")
        do {
            try merge(changeset, authorIndex: authorIndex)
            try appendToLog(signed, hash: hash, siteIndex: authorIndex)
            try connection.execute("RELEASE edgenode_changeset")
        } catch let rejection as ContentRejection {
            try connection.execute("ROLLBACK TO edgenode_changeset")
            try connection.execute("RELEASE edgenode_changeset")
            restoreState(saved)
            return reject(rejection.reason, rejection.message)
        }
        report.applied.append(id)
        let ahead = clock.observe(changeset.clockMax)
        if ahead > 0 { try recordSkew(site: authorIndex, aheadMilliseconds: ahead, timestamp: changeset.clockMax) }
        return true
    }

    private func recordSkew(site: Int, aheadMilliseconds: UInt64, timestamp: HLCTimestamp) throws {
        try connection.execute("""
            INSERT INTO edgenode_clock_skew (site, max_ahead_ms, max_timestamp, last_seen) VALUES (?, ?, ?, ?)
            ON CONFLICT (site) DO UPDATE SET max_ahead_ms = max(max_ahead_ms, excluded.max_ahead_ms),
                max_timestamp = max(max_timestamp, excluded.max_timestamp), last_seen = excluded.last_seen
            """, [.integer(Int64(site)), .integer(Int64(aheadMilliseconds)), .integer(Int64(bitPattern: timestamp.rawValue)),
                  .integer(Int64(configuration.physicalClock.now()))])
        logger.warning("replica clock far ahead", metadata: ["sync.site": "\(sites[site].map(\.hex) ?? "?")", "clock.ahead_ms": "\(aheadMilliseconds)"])
    }

    /// Merges every row of a verified changeset.
    private func merge(_ changeset: Changeset, authorIndex: Int) throws {
        do {
            for row in changeset.rows {
                guard var schema = tables[row.table] else {
                    try park(row, authorIndex: authorIndex)
                    continue
                }
                guard schema.isValidKey(row.key) else {
                    throw ContentRejection(reason: .invalidContent, message: "key \(row.key) of \(row.table) is not a UUIDv7 \(schema.keyIsBlob ? "blob" : "text")")
                }
                if row.table == "edgenode_certificates" || row.table == "edgenode_revocations" {
                    try checkTrustRow(row)
                }
                var known: [IncomingCell] = []
                known.reserveCapacity(row.cells.count)
                var unknown: [CellChange] = []
                for cell in row.cells {
                    if let id = schema.columnIndex[cell.column] {
                        known.append(IncomingCell(column: id, value: cell.value, clock: CellClock(timestamp: cell.timestamp, site: authorIndex)))
                    } else {
                        unknown.append(cell)
                    }
                }
                if !unknown.isEmpty {
                    try park(RowChange(table: row.table, key: row.key, causalLength: row.causalLength, cells: unknown), authorIndex: authorIndex)
                }
                switch schema.kind {
                case .appendOnly:
                    try mergeAppendOnly(schema, key: row.key, causalLength: row.causalLength, cells: known)
                case .lastWriterWins:
                    try mergeRow(&schema, key: row.key, causalLength: row.causalLength, cells: known)
                    tables[row.table] = schema
                }
            }
        } catch let error as SQLiteError where [SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE].contains(error.code & 0xFF) {
            throw ContentRejection(reason: .invalidContent, message: "the changeset's content breaks the local schema: \(error.message)")
        }
    }

    /// Certificates and revocations carried by a changeset must be owner-signed for this business.
    func checkTrustRow(_ row: RowChange) throws {
        for cell in row.cells {
            guard let bytes = cell.value.blobValue else {
                throw ContentRejection(reason: .invalidContent, message: "\(row.table).\(cell.column) must be a blob")
            }
            do {
                if row.table == "edgenode_certificates" {
                    let certificate = try Certificate.decode(bytes)
                    guard row.key == .text(certificate.rowKey) else { throw TrustError(.malformed, "certificate stored under the wrong key") }
                    try trust.add(certificate)
                } else {
                    let revocation = try Revocation.decode(bytes)
                    guard row.key == .text(revocation.rowKey) else { throw TrustError(.malformed, "revocation stored under the wrong key") }
                    try trust.add(revocation)
                    let covered = try connection.scalar("SELECT count(*) FROM edgenode_changesets WHERE site = ? AND clock_max >= ?", [
                        .integer(Int64(siteIndex[revocation.subjectSite] ?? -1)),
                        .integer(Int64(bitPattern: HLCTimestamp(milliseconds: UInt64(max(0, revocation.effectiveFrom)), counter: 0).rawValue)),
                    ])?.integerValue ?? 0
                    if covered > 0 {
                        logger.warning("revocation covers changesets applied before it arrived", metadata: [
                            "sync.site": "\(revocation.subjectSite.hex)", "changeset.count": "\(covered)",
                        ])
                    }
                }
            } catch let error as TrustError {
                throw ContentRejection(reason: .invalidContent, message: "\(row.table) row \(row.key): \(error)")
            }
        }
    }

    private func park(_ row: RowChange, authorIndex: Int) throws {
        if row.cells.isEmpty {
            try park(table: row.table, key: row.key, causalLength: row.causalLength, column: nil, value: .null, clock: CellClock(timestamp: .zero, site: authorIndex))
        }
        for cell in row.cells {
            try park(table: row.table, key: row.key, causalLength: row.causalLength, column: cell.column, value: cell.value,
                     clock: CellClock(timestamp: cell.timestamp, site: authorIndex))
        }
    }

    /// Keeps one change (a cell, or with no column a row's existence or deletion) for a table or
    /// column this replica does not know yet; `applyParked` applies it after the upgrade.
    func park(table: String, key: SQLValue, causalLength: UInt64, column: String?, value: SQLValue, clock: CellClock) throws {
        try connection.execute("INSERT INTO edgenode_parked (tbl, key, cl, col, value, ts, site) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [.text(table), key, .integer(Int64(causalLength)), column.map { .text($0) } ?? .null, value,
                                .integer(Int64(bitPattern: clock.timestamp.rawValue)), .integer(Int64(clock.site))])
    }

    /// Applies parked changes whose table and columns this replica now knows.
    func applyParked(table: String) throws {
        guard var schema = tables[table] else { return }
        let rows = try connection.rows("SELECT id, key, cl, col, value, ts, site FROM edgenode_parked WHERE tbl = ? ORDER BY id", [.text(table)])
        guard !rows.isEmpty else { return }
        struct Group { var cells: [IncomingCell] = []; var ids: [Int64] = [] }
        var groups: [[SQLValue]: Group] = [:]
        var order: [[SQLValue]] = []
        for row in rows {
            let groupKey = [row[1], row[2]]
            let column = row[3].textValue
            if let column, schema.columnIndex[column] == nil { continue }
            if groups[groupKey] == nil { order.append(groupKey) }
            var group = groups[groupKey, default: Group()]
            group.ids.append(row[0].integerValue!)
            if let column {
                group.cells.append(IncomingCell(column: schema.columnIndex[column]!, value: row[4],
                                                clock: CellClock(timestamp: HLCTimestamp(rawValue: UInt64(bitPattern: row[5].integerValue!)), site: Int(row[6].integerValue!))))
            }
            groups[groupKey] = group
        }
        for groupKey in order {
            let group = groups[groupKey]!
            let causalLength = UInt64(groupKey[1].integerValue!)
            if schema.isValidKey(groupKey[0]) {
                switch schema.kind {
                case .appendOnly:
                    do {
                        try mergeAppendOnly(schema, key: groupKey[0], causalLength: causalLength, cells: group.cells)
                    } catch let rejection as ContentRejection {
                        // The changeset was accepted before this replica knew the table; the row
                        // already here stays, and the conflicting copy is reported.
                        logger.warning("parked append-only row conflicts with the stored one", metadata: ["table": "\(table)", "detail": "\(rejection.message)"])
                    }
                case .lastWriterWins: try mergeRow(&schema, key: groupKey[0], causalLength: causalLength, cells: group.cells)
                }
            }
            for id in group.ids { try connection.execute("DELETE FROM edgenode_parked WHERE id = ?", [.integer(id)]) }
        }
        tables[table] = schema
    }

    /// Last-writer-wins merge of one row (see docs/replication.md for the rules).
    func mergeRow(_ schema: inout TableSchema, key: SQLValue, causalLength: UInt64, cells incoming: [IncomingCell]) throws {
        changed.insert(table: schema.name, key: key)
        let cells = strongestPerColumn(incoming)
        if causalLength % 2 == 0 {
            try mergeDelete(&schema, key: key, causalLength: causalLength)
            return
        }
        if let deleted = try tombstone(schema, key: key) {
            if deleted >= causalLength { return }   // deleted later than this incarnation
            try removeTombstone(&schema, key: key)
        }
        // Most merged rows are new here: try the insert first and fall back to a merge only if the row exists.
        try insertMerged(schema, key: key, causalLength: causalLength, cells: cells, conflictDoNothing: true)
        if connection.changes == 1 { return }
        guard let (target, meta) = try existingRow(schema, key: key) else {
            throw ReplicationError(.storage, "\(schema.name) row \(key) neither inserted nor found")
        }
        if causalLength < meta.causalLength { return }
        if causalLength > meta.causalLength {
            // A newer incarnation: the old row's cells do not survive.
            try deleteStatement(schema).run([key])
            try insertMerged(schema, key: key, causalLength: causalLength, cells: cells, conflictDoNothing: false)
            return
        }
        var updated = meta
        var winners: [IncomingCell] = []
        for cell in cells where isGreater(cell.clock, than: updated.clock(of: cell.column)) {
            winners.append(cell)
            updated.setClock(cell.clock, of: cell.column)
        }
        if winners.isEmpty { return }
        winners.sort { $0.column < $1.column }
        var mask: UInt64 = 0
        for cell in winners { mask |= 1 << UInt64(cell.column) }
        let statement = try updateStatement(schema, ids: winners.map(\.column), mask: mask)
        for (offset, cell) in winners.enumerated() { try statement.bind(cell.value, at: Int32(offset + 1)) }
        try statement.bind(.blob(updated.encode()), at: Int32(winners.count + 1))
        try statement.bind(target, at: Int32(winners.count + 2))
        defer { statement.reset() }
        _ = try statement.step()
    }

    private func mergeDelete(_ schema: inout TableSchema, key: SQLValue, causalLength: UInt64) throws {
        if let (_, meta) = try existingRow(schema, key: key) {
            if meta.causalLength >= causalLength { return }
            try deleteStatement(schema).run([key])
            try writeTombstone(&schema, key: key, causalLength: causalLength)
        } else {
            if let deleted = try tombstone(schema, key: key), deleted >= causalLength { return }
            try writeTombstone(&schema, key: key, causalLength: causalLength)
        }
    }

    private func insertMerged(_ schema: TableSchema, key: SQLValue, causalLength: UInt64, cells: [IncomingCell], conflictDoNothing: Bool) throws {
        let sorted = cells.sorted { $0.column < $1.column }
        var mask: UInt64 = 0
        for cell in sorted { mask |= 1 << UInt64(cell.column) }
        var meta = RowMeta(causalLength: causalLength)
        if sorted.count == schema.columns.count, let first = sorted.first, sorted.allSatisfy({ $0.clock == first.clock }) {
            meta = RowMeta(causalLength: causalLength, base: first.clock, baseCount: schema.columns.count)
        } else {
            for cell in sorted { meta.setClock(cell.clock, of: cell.column) }
        }
        let statement = try insertStatement(schema, ids: sorted.map(\.column), mask: mask, conflictDoNothing: conflictDoNothing)
        try statement.bind(key, at: 1)
        for (offset, cell) in sorted.enumerated() { try statement.bind(cell.value, at: Int32(offset + 2)) }
        try statement.bind(.blob(meta.encode()), at: Int32(sorted.count + 2))
        defer { statement.reset() }
        _ = try statement.step()
    }

    /// One cell per column: the one with the greatest clock (several arrive only from parked
    /// changes or snapshots; a changeset names each column of a row once).
    func strongestPerColumn(_ cells: [IncomingCell]) -> [IncomingCell] {
        guard cells.count > 1 else { return cells }
        var best: [Int: IncomingCell] = [:]
        var duplicate = false
        for cell in cells {
            if let current = best[cell.column] {
                duplicate = true
                if isGreater(cell.clock, than: current.clock) { best[cell.column] = cell }
            } else {
                best[cell.column] = cell
            }
        }
        return duplicate ? best.values.sorted { $0.column < $1.column } : cells
    }

    /// Append-only rows: the union; the same key with different content is a tamper.
    func mergeAppendOnly(_ schema: TableSchema, key: SQLValue, causalLength: UInt64, cells incoming: [IncomingCell]) throws {
        changed.insert(table: schema.name, key: key)
        let cells = strongestPerColumn(incoming)
        guard causalLength == 1 else {
            throw ContentRejection(reason: .appendOnlyTamper, message: "append-only \(schema.name) row \(key) cannot be deleted or re-created")
        }
        let columns = schema.columns.map(quoteIdentifier).joined(separator: ", ")
        let existing = try connection.row("SELECT \(columns.isEmpty ? "1" : columns) FROM \(quoteIdentifier(schema.name)) WHERE \(quoteIdentifier(schema.keyColumn)) = ?", [key])
        guard let existing else {
            try insertMerged(schema, key: key, causalLength: 1, cells: cells, conflictDoNothing: false)
            return
        }
        for cell in cells where existing[cell.column] != cell.value {
            throw ContentRejection(reason: .appendOnlyTamper, message: "append-only \(schema.name) row \(key) arrived again with a different \(schema.columns[cell.column])")
        }
    }
}
