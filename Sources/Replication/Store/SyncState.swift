import Foundation

extension ReplicaStore {
    /// The changesets this replica holds that a replica at `remote` lacks, oldest first per author,
    /// at most `limit` of them. Free of I/O beyond this replica's own file: the caller moves the bytes.
    /// - Throws: `ReplicationError(.snapshotRequired)` when changesets the remote lacks were
    ///   compacted away here; the remote must then start from a snapshot (`makeSnapshot()`).
    public func changesets(missingFrom remote: VersionVector, limit: Int = 1000) throws -> [SignedChangeset] {
        try lock.withLock {
            try authorizer.with(.internal) {
                var result: [SignedChangeset] = []
                for (index, sequence) in vector.sorted(by: { $0.key < $1.key }) {
                    guard result.count < limit, let author = sites[index] else { continue }
                    let theirs = remote[author]
                    guard sequence > theirs else { continue }
                    let rows = try connection.rows("SELECT seq, bytes FROM edgenode_changesets WHERE site = ? AND seq > ? ORDER BY seq LIMIT ?",
                                                   [.integer(Int64(index)), .integer(Int64(theirs)), .integer(Int64(limit - result.count))])
                    guard let first = rows.first, UInt64(first[0].integerValue!) == theirs + 1 else {
                        throw ReplicationError(.snapshotRequired, "changesets \(theirs + 1)… of site \(author) were compacted here; start from a snapshot")
                    }
                    for row in rows {
                        result.append(try SignedChangeset.decode(row[1].blobValue!, limits: .init(maxBytes: .max)))
                    }
                }
                return result
            }
        }
    }

    /// The exact bytes of one logged changeset, or nil.
    public func changesetBytes(author: SiteID, sequence: UInt64) throws -> [UInt8]? {
        try lock.withLock {
            try authorizer.with(.internal) {
                guard let index = siteIndex[author] else { return nil }
                return try connection.scalar("SELECT bytes FROM edgenode_changesets WHERE site = ? AND seq = ?",
                                             [.integer(Int64(index)), .integer(Int64(sequence))])?.blobValue
            }
        }
    }

    // MARK: Acknowledgements and compaction

    /// Records that `peer` has everything up to `vector` (learned during sync).
    public func recordAcknowledgement(from peer: SiteID, vector remote: VersionVector) throws {
        try lock.withLock {
            try authorizer.with(.internal) {
                try connection.execute("""
                    INSERT INTO edgenode_acknowledgements (site, vector, at) VALUES (?, ?, ?)
                    ON CONFLICT (site) DO UPDATE SET vector = excluded.vector, at = excluded.at
                    """, [.blob(peer.bytes), .blob(remote.encode()), .integer(Int64(configuration.physicalClock.now()))])
            }
        }
    }

    /// Deletes logged changesets that every known, unrevoked site has acknowledged.
    ///
    /// A site whose last acknowledgement is older than `retention` no longer holds compaction
    /// back; if it returns, it lacks compacted changesets and must start from a snapshot.
    /// - Returns: how many changesets were deleted.
    @discardableResult
    public func compact(retention: Duration = .seconds(30 * 24 * 3600)) throws -> Int {
        try lock.withLock {
            try authorizer.with(.internal) {
                let now = Int64(configuration.physicalClock.now())
                let retentionMilliseconds = retention.components.seconds * 1000
                var acknowledgements: [SiteID: (VersionVector, Int64)] = [:]
                for row in try connection.rows("SELECT site, vector, at FROM edgenode_acknowledgements") {
                    guard let peer = SiteID(bytes: row[0].blobValue ?? []), let remote = try? VersionVector.decode(row[1].blobValue ?? []) else { continue }
                    acknowledgements[peer] = (remote, row[2].integerValue ?? 0)
                }
                var floors = versionVectorLocked()
                let others = trust.certificates.keys.filter { $0 != site && !trust.isRevoked($0) }
                for peer in others {
                    guard let (remote, at) = acknowledgements[peer] else {
                        // Never acknowledged: holds everything back until the retention period has passed since it was certified.
                        let certified = trust.certificates[peer]?.map(\.notBefore).min() ?? 0
                        if now - certified < retentionMilliseconds { floors = VersionVector() }
                        continue
                    }
                    if now - at >= retentionMilliseconds { continue }
                    var lowered = VersionVector()
                    for (author, sequence) in floors.entries { lowered[author] = min(sequence, remote[author]) }
                    floors = lowered
                }
                var deleted = 0
                for (author, sequence) in floors.entries {
                    guard let index = siteIndex[author] else { continue }
                    try connection.execute("DELETE FROM edgenode_changesets WHERE site = ? AND seq <= ?", [.integer(Int64(index)), .integer(Int64(sequence))])
                    deleted += connection.changes
                }
                return deleted
            }
        }
    }

    // MARK: Health

    /// Conditions an operator should know about: clocks far ahead, gaps, refused changesets,
    /// changes parked for tables or columns this replica does not know yet.
    public func health() throws -> [HealthWarning] {
        try lock.withLock {
            try authorizer.with(.internal) {
                var warnings: [HealthWarning] = []
                let lead = clock.lead
                if lead > Int64(configuration.maxForwardDriftMilliseconds) {
                    warnings.append(HealthWarning(kind: "local_clock_behind", site: site,
                        message: "this replica (site \(site.hex)) has issued timestamps \(formatDuration(lead)) ahead of its clock: its clock went back or was wrong; its own writes keep winning until real time catches up"))
                }
                let recent = Int64(configuration.physicalClock.now()) - 7 * 86_400_000
                for row in try connection.rows("SELECT site, max_ahead_ms FROM edgenode_clock_skew WHERE last_seen >= ? ORDER BY site", [.integer(recent)]) {
                    let index = Int(row[0].integerValue!)
                    guard index < sites.count, let skewed = sites[index] else { continue }
                    warnings.append(HealthWarning(kind: "remote_clock_ahead", site: skewed,
                        message: "site \(skewed.hex) wrote timestamps up to \(formatDuration(row[1].integerValue!)) beyond this replica's clock plus the allowed drift: its edits win over concurrent ones until real time catches up; fix that box's clock"))
                }
                for gap in try gapsLocked() {
                    warnings.append(HealthWarning(kind: "gap", site: gap.author, message: "waiting for changesets \(gap.missing.lowerBound)…\(gap.missing.upperBound) of site \(gap.author.hex)"))
                }
                let parked = try connection.scalar("SELECT count(*) FROM edgenode_parked")?.integerValue ?? 0
                if parked > 0 {
                    warnings.append(HealthWarning(kind: "parked", site: nil, message: "\(parked) received changes name tables or columns this version does not know; they take effect after an upgrade"))
                }
                return warnings
            }
        }
    }

    private func formatDuration(_ milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        if seconds >= 86_400 { return "\(seconds / 86_400)d \((seconds % 86_400) / 3600)h" }
        if seconds >= 3600 { return "\(seconds / 3600)h \((seconds % 3600) / 60)m" }
        if seconds >= 60 { return "\(seconds / 60)m \(seconds % 60)s" }
        return "\(milliseconds)ms"
    }

    // MARK: Canonical state

    /// A canonical dump of the replicated state: every replicated table's rows sorted by key,
    /// each cell with its value and clock (timestamp and site id), and the tombstones. Two
    /// replicas that have applied the same changesets produce byte-identical dumps.
    public func canonicalDump(includeClocks: Bool = true) throws -> String {
        try lock.withLock {
            try authorizer.with(.internal) {
                var out = ""
                for name in tables.keys.sorted() {
                    let schema = tables[name]!
                    out += "table \(name) \(schema.kind.rawValue)\n"
                    let columns = schema.columns.sorted()
                    let select = ([schema.keyColumn] + columns + [TableSchema.metaColumn]).map(quoteIdentifier).joined(separator: ", ")
                    let rows = try connection.rows("SELECT \(select) FROM \(quoteIdentifier(name))")
                        .sorted { $0[0].description < $1.first!.description }
                    for row in rows {
                        let meta = try row.last!.blobValue.map { try RowMeta.decode($0) } ?? RowMeta(causalLength: 1)
                        out += "  row \(row[0]) cl=\(meta.causalLength)"
                        for (offset, column) in columns.enumerated() {
                            out += " \(column)=\(canonical(row[offset + 1]))"
                            if includeClocks {
                                let clock = meta.clock(of: schema.columnIndex[column]!)
                                out += clock.site == 0 ? "@-" : "@\(clock.timestamp.rawValue):\(sites[clock.site]?.hex ?? "?")"
                            }
                        }
                        out += "\n"
                    }
                    for row in try connection.rows("SELECT key, cl FROM edgenode_tombstones WHERE tbl = ?", [.text(name)]).sorted(by: { $0[0].description < $1[0].description }) {
                        out += "  tombstone \(row[0]) cl=\(row[1])\n"
                    }
                }
                return out
            }
        }
    }

    private func canonical(_ value: SQLValue) -> String {
        if case .real(let double) = value { return "real:\(String(double.bitPattern, radix: 16))" }
        return value.description
    }
}
