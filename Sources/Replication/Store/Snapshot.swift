extension ReplicaStore {
    static let snapshotMagic: [UInt8] = Array("EDSN".utf8)
    static let snapshotVersion: UInt8 = 1

    /// A signed snapshot of the replicated state: every row with its cell clocks, the tombstones,
    /// parked changes and the version vector (with each author's chain head) it reflects.
    /// A new replica — or one that was away longer than compaction allows — merges it with
    /// `applySnapshot(_:)` and then continues with ordinary changesets.
    public func makeSnapshot() throws -> [UInt8] {
        try lock.withLock {
            try authorizer.with(.internal) {
                try connection.execute("BEGIN DEFERRED")
                defer { try? connection.execute("COMMIT") }
                var writer = ByteWriter(capacity: 1 << 16)
                writer.append(contentsOf: Self.snapshotMagic)
                writer.append(Self.snapshotVersion)
                writer.append(contentsOf: business.bytes)
                writer.append(contentsOf: site.bytes)
                writer.writeInt64(Int64(configuration.physicalClock.now()))
                let known = sites.enumerated().compactMap { index, id in id.map { (index, $0) } }.sorted { $0.1 < $1.1 }
                writer.writeVarint(known.count)
                var snapshotIndex: [Int: Int] = [:]
                for (position, entry) in known.enumerated() {
                    writer.append(contentsOf: entry.1.bytes)
                    snapshotIndex[entry.0] = position + 1
                }
                let vectorEntries = vector.sorted { snapshotIndex[$0.key]! < snapshotIndex[$1.key]! }
                writer.writeVarint(vectorEntries.count)
                for (index, sequence) in vectorEntries {
                    writer.writeVarint(snapshotIndex[index]!)
                    writer.writeVarint(sequence)
                    writer.append(contentsOf: heads[index] ?? [UInt8](repeating: 0, count: 32))
                }
                let names = tables.keys.sorted()
                writer.writeVarint(names.count)
                for name in names {
                    let schema = tables[name]!
                    writer.writeString(name)
                    writer.writeString(schema.kind.rawValue)
                    writer.writeVarint(schema.columns.count)
                    for column in schema.columns { writer.writeString(column) }
                    let select = ([schema.keyColumn] + schema.columns + [TableSchema.metaColumn]).map(quoteIdentifier).joined(separator: ", ")
                    let rows = try connection.rows("SELECT \(select) FROM \(quoteIdentifier(name)) ORDER BY 1")
                    writer.writeVarint(rows.count)
                    for row in rows {
                        let meta = try row.last!.blobValue.map { try RowMeta.decode($0) } ?? RowMeta(causalLength: 1)
                        writer.writeValue(row[0])
                        writer.writeVarint(meta.causalLength)
                        let written = (0..<schema.columns.count).filter { meta.clock(of: $0).site != 0 }
                        writer.writeVarint(written.count)
                        for column in written {
                            let clock = meta.clock(of: column)
                            writer.writeVarint(column)
                            writer.writeVarint(clock.timestamp.rawValue)
                            writer.writeVarint(snapshotIndex[clock.site] ?? 0)
                            writer.writeValue(row[column + 1])
                        }
                    }
                }
                let tombstones = try connection.rows("SELECT tbl, key, cl FROM edgenode_tombstones ORDER BY tbl, key")
                writer.writeVarint(tombstones.count)
                for row in tombstones {
                    writer.writeString(row[0].textValue!)
                    writer.writeValue(row[1])
                    writer.writeVarint(UInt64(row[2].integerValue!))
                }
                let parked = try connection.rows("SELECT tbl, key, cl, col, value, ts, site FROM edgenode_parked ORDER BY id")
                writer.writeVarint(parked.count)
                for row in parked {
                    writer.writeString(row[0].textValue!)
                    writer.writeValue(row[1])
                    writer.writeVarint(UInt64(row[2].integerValue!))
                    writer.writeString(row[3].textValue ?? "")
                    writer.writeValue(row[4])
                    writer.writeVarint(UInt64(bitPattern: row[5].integerValue!))
                    writer.writeVarint(snapshotIndex[Int(row[6].integerValue!)] ?? 0)
                }
                var bytes = writer.bytes
                bytes.append(contentsOf: identity.sign(bytes))
                return bytes
            }
        }
    }

    /// Merges a snapshot made by another replica of this business.
    /// - Returns: the version vector after the merge.
    /// - Throws: `ReplicationError(.invalidSnapshot)` for a malformed, foreign or badly signed
    ///   snapshot (nothing is changed then).
    @discardableResult
    public func applySnapshot(_ bytes: [UInt8]) throws -> VersionVector {
        func invalid(_ message: String) -> ReplicationError { ReplicationError(.invalidSnapshot, message) }
        guard bytes.count >= 4 + 1 + 16 + 16 + 8 + 5 + 64 else { throw invalid("snapshot is too short") }
        let body = Array(bytes[..<(bytes.count - 64)])
        let signature = Array(bytes[(bytes.count - 64)...])
        var reader = ByteReader(body)
        struct Row { let table: String; let key: SQLValue; let causalLength: UInt64; let cells: [(String, SQLValue, HLCTimestamp, Int)] }
        var producer: SiteID
        var snapshotSites: [SiteID?] = [nil]
        var vectorEntries: [(Int, UInt64, [UInt8])] = []
        var rows: [Row] = []
        var tombstones: [(String, SQLValue, UInt64)] = []
        var parked: [(String, SQLValue, UInt64, String, SQLValue, UInt64, Int)] = []
        do {
            guard try reader.readBytes(4) == Self.snapshotMagic else { throw invalid("not a snapshot (bad magic)") }
            guard try reader.readByte() == Self.snapshotVersion else { throw invalid("unsupported snapshot version") }
            guard try reader.readBytes(16) == business.bytes else { throw invalid("the snapshot belongs to another business") }
            producer = SiteID(bytes: try reader.readBytes(16))!
            _ = try reader.readInt64()
            let siteCount = try reader.readCount(limit: reader.remaining / 16, what: "site count")
            for _ in 0..<siteCount { snapshotSites.append(SiteID(bytes: try reader.readBytes(16))!) }
            func siteNumber() throws -> Int {
                let number = try reader.readCount(limit: siteCount, what: "site index")
                return number
            }
            let vectorCount = try reader.readCount(limit: reader.remaining / 34, what: "vector size")
            for _ in 0..<vectorCount {
                let number = try siteNumber()
                guard number > 0 else { throw invalid("vector entry names no site") }
                let sequence = try reader.readVarint()
                guard sequence <= UInt64(Int64.max) else { throw invalid("vector entry beyond 2^63-1") }
                vectorEntries.append((number, sequence, try reader.readBytes(32)))
            }
            let tableCount = try reader.readCount(limit: reader.remaining, what: "table count")
            for _ in 0..<tableCount {
                let table = try reader.readString(limit: 256)
                _ = try reader.readString(limit: 32)
                let columnCount = try reader.readCount(limit: reader.remaining, what: "column count")
                var columns: [String] = []
                for _ in 0..<columnCount { columns.append(try reader.readString(limit: 256)) }
                let rowCount = try reader.readCount(limit: reader.remaining / 3, what: "row count")
                for _ in 0..<rowCount {
                    let key = try reader.readValue()
                    let causalLength = try reader.readVarint()
                    guard causalLength % 2 == 1, causalLength <= UInt64(Int64.max) else { throw invalid("a snapshot row must have an odd causal length below 2^63") }
                    let cellCount = try reader.readCount(limit: columnCount, what: "cell count")
                    var cells: [(String, SQLValue, HLCTimestamp, Int)] = []
                    for _ in 0..<cellCount {
                        let column = try reader.readCount(limit: max(0, columnCount - 1), what: "column index")
                        let timestamp = HLCTimestamp(rawValue: try reader.readVarint())
                        let number = try siteNumber()
                        cells.append((columns[column], try reader.readValue(), timestamp, number))
                    }
                    rows.append(Row(table: table, key: key, causalLength: causalLength, cells: cells))
                }
            }
            let tombstoneCount = try reader.readCount(limit: reader.remaining / 3, what: "tombstone count")
            for _ in 0..<tombstoneCount {
                let entry = (try reader.readString(limit: 256), try reader.readValue(), try reader.readVarint())
                guard entry.2 % 2 == 0, entry.2 > 0, entry.2 <= UInt64(Int64.max) else { throw invalid("a tombstone must have an even causal length below 2^63") }
                tombstones.append(entry)
            }
            let parkedCount = try reader.readCount(limit: reader.remaining / 6, what: "parked count")
            for _ in 0..<parkedCount {
                let entry = (try reader.readString(limit: 256), try reader.readValue(), try reader.readVarint(), try reader.readString(limit: 256),
                             try reader.readValue(), try reader.readVarint(), try siteNumber())
                guard entry.2 > 0, entry.2 <= UInt64(Int64.max) else { throw invalid("a parked change has an impossible causal length") }
                parked.append(entry)
            }
            guard reader.isAtEnd else { throw invalid("trailing bytes in the snapshot") }
        } catch let error as DecodingError {
            throw invalid("malformed snapshot: \(error)")
        }

        // Who made it: a replica of this business, certified now (its certificate may travel inside).
        var candidate = trustStore
        for row in rows where row.table == "edgenode_certificates" {
            for cell in row.cells { if let certificate = try? Certificate.decode(cell.1.blobValue ?? []) { try? candidate.add(certificate) } }
        }
        for row in rows where row.table == "edgenode_revocations" {
            for cell in row.cells { if let revocation = try? Revocation.decode(cell.1.blobValue ?? []) { try? candidate.add(revocation) } }
        }
        let key: PublicKey
        do { key = try candidate.authorKey(for: producer, at: Int64(configuration.physicalClock.now())) } catch {
            throw invalid("the snapshot's producer is not trusted: \(error)")
        }
        guard key.verify(signature, over: body) else { throw invalid("the snapshot's signature does not verify") }

        return try lock.withLock {
            try authorizer.with(.internal) {
                let saved = saveState()
                do {
                    try connection.execute("BEGIN IMMEDIATE")
                    var local: [Int: Int] = [:]
                    for (number, id) in snapshotSites.enumerated() { if let id { local[number] = try index(of: id) } }
                    for row in rows {
                        func parkCell(_ cell: (String, SQLValue, HLCTimestamp, Int)) throws {
                            try park(table: row.table, key: row.key, causalLength: row.causalLength, column: cell.0, value: cell.1,
                                     clock: CellClock(timestamp: cell.2, site: local[cell.3] ?? 0))
                        }
                        guard var schema = tables[row.table] else {
                            if row.cells.isEmpty {
                                try park(table: row.table, key: row.key, causalLength: row.causalLength, column: nil, value: .null, clock: .zero)
                            }
                            for cell in row.cells { try parkCell(cell) }
                            continue
                        }
                        guard schema.isValidKey(row.key) else { throw invalid("row key \(row.key) of \(row.table) is not a UUIDv7") }
                        // Columns this version does not know yet are kept until the upgrade, as for changesets.
                        for cell in row.cells where schema.columnIndex[cell.0] == nil { try parkCell(cell) }
                        let cells = row.cells.compactMap { cell in
                            schema.columnIndex[cell.0].map { IncomingCell(column: $0, value: cell.1, clock: CellClock(timestamp: cell.2, site: local[cell.3] ?? 0)) }
                        }
                        if row.table == "edgenode_certificates" || row.table == "edgenode_revocations" {
                            try checkTrustRow(RowChange(table: row.table, key: row.key, causalLength: row.causalLength,
                                                        cells: row.cells.map { CellChange(column: $0.0, value: $0.1, timestamp: $0.2) }))
                        }
                        if schema.kind == .appendOnly {
                            try mergeAppendOnly(schema, key: row.key, causalLength: row.causalLength, cells: cells)
                        } else {
                            try mergeRow(&schema, key: row.key, causalLength: row.causalLength, cells: cells)
                            tables[row.table] = schema
                        }
                    }
                    for (table, key, causalLength) in tombstones {
                        guard var schema = tables[table] else {
                            try park(table: table, key: key, causalLength: causalLength, column: nil, value: .null, clock: .zero)
                            continue
                        }
                        guard schema.kind == .lastWriterWins, schema.isValidKey(key) else { throw invalid("tombstone \(key) of \(table) is not valid") }
                        try mergeRow(&schema, key: key, causalLength: causalLength, cells: [])
                        tables[table] = schema
                    }
                    for entry in parked {
                        try park(table: entry.0, key: entry.1, causalLength: entry.2, column: entry.3.isEmpty ? nil : entry.3, value: entry.4,
                                 clock: CellClock(timestamp: HLCTimestamp(rawValue: entry.5), site: local[entry.6] ?? 0))
                    }
                    var report = ApplyReport()
                    for (number, sequence, head) in vectorEntries {
                        let index = local[number]!
                        guard sequence > (vector[index] ?? 0) else { continue }
                        vector[index] = sequence
                        heads[index] = head
                        try connection.execute("INSERT OR REPLACE INTO edgenode_vector (site, seq, head) VALUES (?, ?, ?)",
                                               [.integer(Int64(index)), .integer(Int64(sequence)), .blob(head)])
                        try connection.execute("DELETE FROM edgenode_pending WHERE site = ? AND seq <= ?", [.integer(Int64(index)), .integer(Int64(sequence))])
                        try applyChain(startingWith: try takeWaiting(siteIndex: index, sequence: sequence + 1), report: &report)
                    }
                    try flushChanges()
                    try persistClock()
                    try connection.execute("COMMIT")
                    return versionVectorLocked()
                } catch {
                    if connection.isInTransaction { try? connection.execute("ROLLBACK") }
                    restoreState(saved)
                    if let rejection = error as? ContentRejection { throw invalid(rejection.message) }
                    throw error
                }
            }
        }
    }
}
