/// One cell written by a changeset: a column of a row, its new value and its clock.
public struct CellChange: Hashable, Sendable {
    public var column: String
    public var value: SQLValue
    public var timestamp: HLCTimestamp

    public init(column: String, value: SQLValue, timestamp: HLCTimestamp) {
        self.column = column
        self.value = value
        self.timestamp = timestamp
    }
}

/// The changes to one row. `causalLength` is odd while the row exists and even once it is
/// deleted (cr-sqlite's causal length); a delete carries no cells.
public struct RowChange: Hashable, Sendable {
    public var table: String
    public var key: SQLValue
    public var causalLength: UInt64
    public var cells: [CellChange]

    public init(table: String, key: SQLValue, causalLength: UInt64, cells: [CellChange]) {
        self.table = table
        self.key = key
        self.causalLength = causalLength
        self.cells = cells
    }

    public var isDelete: Bool { causalLength % 2 == 0 }
}

/// The changes of one local transaction, as authored by one site.
public struct Changeset: Hashable, Sendable {
    public static let magic: [UInt8] = Array("EDGC".utf8)
    public static let formatVersion: UInt8 = 1
    public static let signatureLength = 64

    public var business: BusinessID
    public var author: SiteID
    public var sequence: UInt64
    /// BLAKE2b-256 of the author's previous changeset (all zeros for sequence 1).
    public var previousHash: [UInt8]
    public var clockMin: HLCTimestamp
    public var clockMax: HLCTimestamp
    public var rows: [RowChange]

    public init(business: BusinessID, author: SiteID, sequence: UInt64, previousHash: [UInt8], clockMin: HLCTimestamp, clockMax: HLCTimestamp, rows: [RowChange]) {
        self.business = business
        self.author = author
        self.sequence = sequence
        self.previousHash = previousHash
        self.clockMin = clockMin
        self.clockMax = clockMax
        self.rows = rows
    }

    /// The encoding of everything the signature covers (see docs/sync-protocol.md).
    public func encodeUnsigned() -> [UInt8] {
        var writer = ByteWriter(capacity: 128 + rows.count * 64)
        writer.append(contentsOf: Self.magic)
        writer.append(Self.formatVersion)
        writer.append(contentsOf: business.bytes)
        writer.append(contentsOf: author.bytes)
        writer.writeVarint(sequence)
        writer.append(contentsOf: previousHash)
        writer.writeUInt64(clockMin.rawValue)
        writer.writeUInt64(clockMax.rawValue)

        // Group rows by table, in order of first appearance; each table carries its own column
        // dictionary. Tables and columns per changeset are few: linear search beats hashing.
        var tableOrder: [String] = []
        var rowsByTable: [[Int]] = []
        for (position, row) in rows.enumerated() {
            if let index = tableOrder.firstIndex(of: row.table) {
                rowsByTable[index].append(position)
            } else {
                tableOrder.append(row.table)
                rowsByTable.append([position])
            }
        }
        writer.writeVarint(tableOrder.count)
        for (tableIndex, table) in tableOrder.enumerated() {
            let positions = rowsByTable[tableIndex]
            var columns: [String] = []
            for position in positions {
                for cell in rows[position].cells where !columns.contains(cell.column) {
                    columns.append(cell.column)
                }
            }
            writer.writeString(table)
            writer.writeVarint(columns.count)
            for column in columns { writer.writeString(column) }
            writer.writeVarint(positions.count)
            for position in positions {
                let row = rows[position]
                writer.writeValue(row.key)
                writer.writeVarint(row.causalLength)
                writer.writeVarint(row.cells.count)
                for cell in row.cells {
                    writer.writeVarint(columns.firstIndex(of: cell.column)!)
                    writer.writeVarint(cell.timestamp.rawValue &- clockMin.rawValue)
                    writer.writeValue(cell.value)
                }
            }
        }
        return writer.bytes
    }

    /// Encodes and signs.
    public func signed(with key: SigningKey) -> SignedChangeset {
        var bytes = encodeUnsigned()
        bytes.append(contentsOf: key.sign(bytes))
        return SignedChangeset(bytes: bytes, changeset: self)
    }
}

/// Limits applied when decoding a changeset from an untrusted source.
public struct ChangesetLimits: Sendable {
    public var maxBytes: Int
    public var maxTables: Int
    public var maxColumnsPerTable: Int
    public var maxKeyBytes: Int

    public init(maxBytes: Int = 16 << 20, maxTables: Int = 1024, maxColumnsPerTable: Int = 2000, maxKeyBytes: Int = 256) {
        self.maxBytes = maxBytes
        self.maxTables = maxTables
        self.maxColumnsPerTable = maxColumnsPerTable
        self.maxKeyBytes = maxKeyBytes
    }

    public static let standard = ChangesetLimits()
}

/// A changeset together with the exact bytes that travel: signatures and hashes are over these
/// bytes, never over a re-encoding.
public struct SignedChangeset: Hashable, Sendable {
    public let bytes: [UInt8]
    public let changeset: Changeset

    init(bytes: [UInt8], changeset: Changeset) {
        self.bytes = bytes
        self.changeset = changeset
    }

    /// BLAKE2b-256 of all the bytes, signature included: what the next changeset's `previousHash` names.
    public var hash: [UInt8] { Sodium.blake2b(bytes, length: 32) }

    public var signature: ArraySlice<UInt8> { bytes[(bytes.count - Changeset.signatureLength)...] }
    public var signedPart: ArraySlice<UInt8> { bytes[..<(bytes.count - Changeset.signatureLength)] }

    /// Whether the signature verifies against `key`.
    public func verifySignature(with key: PublicKey) -> Bool { key.verify(signature, over: signedPart) }

    /// Decodes the structure of a changeset without checking its signature.
    /// - Throws: `DecodingError` naming the first problem (bad magic, unsupported version,
    ///   a length beyond the data, a limit exceeded, trailing bytes).
    public static func decode(_ bytes: [UInt8], limits: ChangesetLimits = .standard) throws(DecodingError) -> SignedChangeset {
        guard bytes.count <= limits.maxBytes else {
            throw DecodingError("changeset is \(bytes.count) bytes; the limit is \(limits.maxBytes)", at: 0)
        }
        guard bytes.count >= 4 + 1 + 16 + 16 + 1 + 32 + 16 + 1 + Changeset.signatureLength else {
            throw DecodingError("changeset is \(bytes.count) bytes, shorter than the smallest possible changeset", at: 0)
        }
        var reader = ByteReader(bytes, end: bytes.count - Changeset.signatureLength)
        guard try reader.readBytes(4) == Changeset.magic else { throw DecodingError("not a changeset (bad magic)", at: 0) }
        let version = try reader.readByte()
        guard version == Changeset.formatVersion else { throw DecodingError("unsupported changeset format version \(version)", at: 4) }
        let business = BusinessID(bytes: try reader.readBytes(16))!
        let author = SiteID(bytes: try reader.readBytes(16))!
        let sequenceOffset = reader.offset
        let sequence = try reader.readVarint()
        guard sequence >= 1, sequence <= UInt64(Int64.max) else {
            throw DecodingError(sequence == 0 ? "sequence numbers start at 1" : "sequence number \(sequence) exceeds 2^63-1", at: sequenceOffset)
        }
        let previousHash = try reader.readBytes(32)
        let clockMin = HLCTimestamp(rawValue: try reader.readUInt64())
        let clockMax = HLCTimestamp(rawValue: try reader.readUInt64())
        guard clockMin <= clockMax else { throw DecodingError("clock range is inverted", at: reader.offset - 16) }
        let tableCount = try reader.readCount(limit: limits.maxTables, what: "table count")
        var rows: [RowChange] = []
        var seenTables = Set<String>()
        for _ in 0..<tableCount {
            let tableOffset = reader.offset
            let table = try reader.readString(limit: 256)
            guard isPlainName(table) else { throw DecodingError("table name must be printable ASCII", at: tableOffset) }
            guard !table.isEmpty, seenTables.insert(table).inserted else {
                throw DecodingError(table.isEmpty ? "empty table name" : "table \(table) appears twice", at: tableOffset)
            }
            let columnCount = try reader.readCount(limit: min(limits.maxColumnsPerTable, reader.remaining), what: "column count")
            var columns: [String] = []
            columns.reserveCapacity(columnCount)
            for _ in 0..<columnCount {
                let columnOffset = reader.offset
                let column = try reader.readString(limit: 256)
                guard isPlainName(column) else { throw DecodingError("column name must be printable ASCII", at: columnOffset) }
                guard !column.isEmpty, !columns.contains(column) else {
                    throw DecodingError(column.isEmpty ? "empty column name" : "column \(column) appears twice", at: columnOffset)
                }
                columns.append(column)
            }
            // Each row takes at least 3 bytes, which bounds a declared count by what is left.
            let rowCount = try reader.readCount(limit: reader.remaining / 3, what: "row count")
            rows.reserveCapacity(rows.count + rowCount)
            for _ in 0..<rowCount {
                let keyOffset = reader.offset
                let key = try reader.readValue()
                switch key {
                case .text(let text) where text.utf8.count <= limits.maxKeyBytes: break
                case .blob(let blob) where blob.count <= limits.maxKeyBytes: break
                default: throw DecodingError("row key must be text or blob of at most \(limits.maxKeyBytes) bytes", at: keyOffset)
                }
                let clOffset = reader.offset
                let causalLength = try reader.readVarint()
                guard causalLength >= 1, causalLength <= UInt64(Int64.max) else {
                    throw DecodingError("causal length must be between 1 and 2^63-1", at: clOffset)
                }
                let cellCount = try reader.readCount(limit: min(columnCount, reader.remaining), what: "cell count")
                if causalLength % 2 == 0 && cellCount > 0 {
                    throw DecodingError("a delete (even causal length) carries no cells", at: clOffset)
                }
                var cells: [CellChange] = []
                cells.reserveCapacity(cellCount)
                var usedColumns = Set<Int>()
                for _ in 0..<cellCount {
                    let cellOffset = reader.offset
                    let index = try reader.readCount(limit: columnCount - 1, what: "column index")
                    guard usedColumns.insert(index).inserted else { throw DecodingError("a row names column \(columns[index]) twice", at: cellOffset) }
                    let delta = try reader.readVarint()
                    let (timestamp, overflow) = clockMin.rawValue.addingReportingOverflow(delta)
                    guard !overflow, timestamp <= clockMax.rawValue else {
                        throw DecodingError("cell timestamp lies outside the changeset's clock range", at: cellOffset)
                    }
                    let value = try reader.readValue()
                    cells.append(CellChange(column: columns[index], value: value, timestamp: HLCTimestamp(rawValue: timestamp)))
                }
                rows.append(RowChange(table: table, key: key, causalLength: causalLength, cells: cells))
            }
        }
        guard reader.isAtEnd else { throw DecodingError("\(reader.remaining) unexpected bytes before the signature", at: reader.offset) }
        let changeset = Changeset(business: business, author: author, sequence: sequence, previousHash: previousHash, clockMin: clockMin, clockMax: clockMax, rows: rows)
        return SignedChangeset(bytes: bytes, changeset: changeset)
    }
}

/// Table and column names on the wire are printable ASCII, so that names compare byte for byte.
func isPlainName(_ name: String) -> Bool {
    name.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
}

extension ByteWriter {
    /// A tagged SQLite value: 0 null, 1 integer (zig-zag varint), 2 real (IEEE 754 binary64,
    /// big-endian), 3 text (varint length + UTF-8), 4 blob (varint length + bytes), 5 text that is
    /// a UUID in canonical lower-case form, as its 16 bytes.
    public mutating func writeValue(_ value: SQLValue) {
        switch value {
        case .null: append(0)
        case .integer(let v): append(1); writeSignedVarint(v)
        case .real(let v): append(2); writeUInt64(v.bitPattern)
        case .text(let v):
            if let uuid = UUIDv7.compactBytes(v) {
                append(5)
                append(contentsOf: uuid)
            } else {
                append(3)
                writeString(v)
            }
        case .blob(let v): append(4); writeBlob(v)
        }
    }
}

extension ByteReader {
    public mutating func readValue() throws(DecodingError) -> SQLValue {
        let offset = self.offset
        switch try readByte() {
        case 0: return .null
        case 1: return .integer(try readSignedVarint())
        case 2: return .real(Double(bitPattern: try readUInt64()))
        case 3: return .text(try readString())
        case 4: return .blob(try readBlob())
        case 5: return .text(UUIDv7.format(try readBytes(16)))
        case let tag: throw DecodingError("unknown value tag \(tag)", at: offset)
        }
    }
}
