import Replication

/// A local (never replicated) table in which a layer above the domain keeps records of its own,
/// by a text key, stamped with the time they were put.
///
/// Why this shape: LocalAPI writes no SQL (it knows the domain, not the store), yet what its
/// records mean — the idempotent replies (`IdempotencyStore` in LocalAPI) — is its business,
/// not the domain's. So the domain keeps the SQL, the schema (in `DomainSchema`'s append-only
/// migrations, beside the domain's own tables) and the transactions, and offers this generic
/// keyed-record API; the layer above maps its type to named fields. A put made inside a unit of
/// work (`Shop.unitOfWork`) commits with the unit's domain writes, which is what the idempotent
/// replies need. The table stays local: the store's authorizer refuses these statements on a
/// replicated table, and nothing here registers one.
public struct LocalTable: Sendable, Hashable {
    public let name: String
    /// The columns besides `key` and `created_at`, which every such table has.
    public let fields: Set<String>

    /// The local API's stored replies to idempotent requests (see docs/api.md, "Idempotency").
    public static let idempotentReplies = LocalTable(name: "local_idempotency", fields: ["request_hash", "status", "location", "body"])
}

/// A field value of a local record.
public enum LocalValue: Sendable, Hashable {
    case text(String)
    case integer(Int64)
    case bytes([UInt8])

    var sql: SQLValue {
        switch self {
        case .text(let value): .text(value)
        case .integer(let value): .integer(value)
        case .bytes(let value): .blob(value)
        }
    }

    init(_ value: SQLValue) {
        switch value {
        case .integer(let value): self = .integer(value)
        case .blob(let value): self = .bytes(value)
        case .text(let value): self = .text(value)
        default: self = .text("")
        }
    }

    public var text: String? { if case .text(let value) = self { value } else { nil } }
    public var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    public var bytes: [UInt8]? { if case .bytes(let value) = self { value } else { nil } }
}

/// The records of one local table (`Shop.records(in:)`).
public struct LocalRecords: Sendable {
    let shop: Shop
    public let table: LocalTable

    /// The record with `key`: its fields, or nil.
    public func get(_ key: String) async throws -> [String: LocalValue]? {
        let columns = table.fields.sorted()
        let table = self.table
        return try await shop.perform { shop in
            try shop.read { transaction in
                try transaction.row("SELECT \(columns.map(quoted).joined(separator: ", ")) FROM \(quoted(table.name)) WHERE key = ?",
                                    [.text(key)]).map { row in
                    Dictionary(uniqueKeysWithValues: zip(columns, row.map(LocalValue.init)))
                }
            }
        }
    }

    /// Puts the record with `key` (replacing one with the same key), stamped with the store's clock.
    /// Inside a unit of work, it commits with the unit.
    /// - Throws: `DomainError(.invalidArgument)` when `fields` names a column the table does not have.
    public func put(_ key: String, _ fields: [String: LocalValue]) async throws {
        let unknown = Set(fields.keys).subtracting(table.fields)
        guard unknown.isEmpty else { throw DomainError(.invalidArgument, "\(table.name) has no field \(unknown.sorted().joined(separator: ", "))") }
        let columns = fields.keys.sorted()
        let now = shop.now
        try await storing { shop in
            try shop.store.write { transaction in
                try transaction.execute("""
                    INSERT OR REPLACE INTO \(quoted(table.name)) (key, \(columns.map(quoted).joined(separator: ", ")), created_at)
                    VALUES (?, \(columns.map { _ in "?" }.joined(separator: ", ")), ?)
                    """, [.text(key)] + columns.map { fields[$0]!.sql } + [.instant(now)])
            }
        }
    }

    /// Deletes the records put before `instant`.
    /// - Returns: how many were deleted.
    @discardableResult
    public func delete(putBefore instant: Instant) async throws -> Int {
        try await storing { shop in
            try shop.store.write { transaction in
                let count = try transaction.scalar("SELECT count(*) FROM \(quoted(table.name)) WHERE created_at < ?", [.instant(instant)])?.integerValue ?? 0
                try transaction.execute("DELETE FROM \(quoted(table.name)) WHERE created_at < ?", [.instant(instant)])
                return Int(count)
            }
        }
    }

    /// Runs `body` on the store's threads (inline inside a unit of work); store errors become `.storage`.
    private func storing<T: Sendable>(_ body: @escaping @Sendable (Shop) throws -> T) async throws -> T {
        let name = table.name
        return try await shop.perform { shop in
            do { return try body(shop) } catch let error as DomainError { throw error } catch { throw DomainError(.storage, "\(name): \(error)") }
        }
    }
}

/// Table and column names come from `LocalTable`s declared in this module; quoted all the same.
private func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

extension Shop {
    /// The records of a local table.
    public func records(in table: LocalTable) -> LocalRecords { LocalRecords(shop: self, table: table) }
}
