/// A cell clock: the timestamp of the write and the local index of the site that wrote it.
struct CellClock: Hashable {
    var timestamp: HLCTimestamp
    var site: Int   // local index into edgenode_sites; 0 means "never written"

    static let zero = CellClock(timestamp: .zero, site: 0)
}

/// The replication metadata kept in each replicated row's `crdt_meta` column: the causal
/// length and one clock per column. Encoded compactly: a base clock that applies to the first
/// `baseCount` columns (those the row had when one write covered them all), then the exceptions
/// (local column ids, which never leave this replica). Columns beyond `baseCount` that are not
/// listed were never written (zero clock) — so a column added by a later migration does not
/// inherit the insert's clock.
struct RowMeta: Equatable {
    var causalLength: UInt64
    var base: CellClock
    var baseCount: Int
    var exceptions: [(column: Int, clock: CellClock)]

    init(causalLength: UInt64, base: CellClock = .zero, baseCount: Int = 0, exceptions: [(column: Int, clock: CellClock)] = []) {
        self.causalLength = causalLength
        self.base = baseCount == 0 ? .zero : base
        self.baseCount = baseCount
        self.exceptions = exceptions
    }

    static func == (lhs: RowMeta, rhs: RowMeta) -> Bool {
        lhs.causalLength == rhs.causalLength && lhs.base == rhs.base && lhs.baseCount == rhs.baseCount
            && lhs.exceptions.elementsEqual(rhs.exceptions, by: { $0.column == $1.column && $0.clock == $1.clock })
    }

    private func implicitClock(of column: Int) -> CellClock { column < baseCount ? base : .zero }

    func clock(of column: Int) -> CellClock {
        for exception in exceptions where exception.column == column { return exception.clock }
        return implicitClock(of: column)
    }

    mutating func setClock(_ clock: CellClock, of column: Int) {
        let implicit = implicitClock(of: column)
        if let index = exceptions.firstIndex(where: { $0.column == column }) {
            if clock == implicit { exceptions.remove(at: index) } else { exceptions[index].clock = clock }
        } else if clock != implicit {
            exceptions.append((column, clock))
        }
    }

    func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + exceptions.count * 12)
        writer.writeVarint(causalLength)
        writer.writeVarint(baseCount)
        if baseCount > 0 {
            writer.writeVarint(base.timestamp.rawValue)
            writer.writeVarint(base.site)
        }
        writer.writeVarint(exceptions.count)
        for exception in exceptions.sorted(by: { $0.column < $1.column }) {
            writer.writeVarint(exception.column)
            writer.writeVarint(exception.clock.timestamp.rawValue)
            writer.writeVarint(exception.clock.site)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(DecodingError) -> RowMeta {
        var reader = ByteReader(bytes)
        let causalLength = try reader.readVarint()
        let baseCount = try reader.readCount(limit: 64, what: "base column count")
        let base = baseCount == 0 ? CellClock.zero : CellClock(timestamp: HLCTimestamp(rawValue: try reader.readVarint()), site: Int(try reader.readVarint()))
        let count = try reader.readCount(limit: reader.remaining, what: "clock count")
        var exceptions: [(Int, CellClock)] = []
        exceptions.reserveCapacity(count)
        for _ in 0..<count {
            let column = Int(try reader.readVarint())
            let clock = CellClock(timestamp: HLCTimestamp(rawValue: try reader.readVarint()), site: Int(try reader.readVarint()))
            exceptions.append((column, clock))
        }
        return RowMeta(causalLength: causalLength, base: base, baseCount: baseCount, exceptions: exceptions)
    }
}
