/// Appends the primitive encodings used by every edgenode wire and file format.
///
/// Unsigned integers are LEB128 varints; fixed-width integers are big-endian;
/// strings and blobs are a varint length followed by the bytes.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func append(_ byte: UInt8) { bytes.append(byte) }
    public mutating func append<S: Sequence>(contentsOf sequence: S) where S.Element == UInt8 { bytes.append(contentsOf: sequence) }

    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func writeVarint(_ value: Int) { writeVarint(UInt64(value)) }

    /// Zig-zag then varint, for signed integers.
    public mutating func writeSignedVarint(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func writeUInt64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    public mutating func writeInt64(_ value: Int64) { writeUInt64(UInt64(bitPattern: value)) }

    public mutating func writeString(_ value: String) {
        let utf8 = value.utf8
        writeVarint(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    public mutating func writeBlob(_ value: [UInt8]) {
        writeVarint(value.count)
        bytes.append(contentsOf: value)
    }
}

/// Why a byte string could not be decoded. Always specific; never a crash.
public struct DecodingError: Error, Sendable, CustomStringConvertible, Equatable {
    public let message: String
    public let offset: Int
    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "\(message) (at byte \(offset))" }
}

/// Reads what `ByteWriter` wrote, checking every length against what is left.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset >= end }

    public mutating func readByte() throws(DecodingError) -> UInt8 {
        guard offset < end else { throw DecodingError("unexpected end of data", at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readBytes(_ count: Int) throws(DecodingError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw DecodingError("declared length \(count) exceeds the \(remaining) bytes left", at: offset)
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    public mutating func readVarint() throws(DecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw DecodingError("varint overflows 64 bits", at: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 { throw DecodingError("non-canonical (overlong) varint", at: start) }
                break
            }
            shift += 7
            if shift > 63 { throw DecodingError("varint longer than 10 bytes", at: start) }
        }
        return result
    }

    /// A varint that must fit in `Int` and be at most `limit`.
    public mutating func readCount(limit: Int, what: String) throws(DecodingError) -> Int {
        let start = offset
        let value = try readVarint()
        guard value <= UInt64(limit) else {
            throw DecodingError("\(what) \(value) exceeds the limit of \(limit)", at: start)
        }
        return Int(value)
    }

    public mutating func readSignedVarint() throws(DecodingError) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    public mutating func readUInt64() throws(DecodingError) -> UInt64 {
        guard remaining >= 8 else { throw DecodingError("unexpected end of data in a 64-bit integer", at: offset) }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return value
    }

    public mutating func readInt64() throws(DecodingError) -> Int64 { Int64(bitPattern: try readUInt64()) }

    public mutating func readString(limit: Int = 1 << 24) throws(DecodingError) -> String {
        let count = try readCount(limit: min(limit, remaining), what: "string length")
        let start = offset
        offset += count
        guard let string = String(validating: bytes[start..<(start + count)], as: UTF8.self) else {
            throw DecodingError("string is not valid UTF-8", at: start)
        }
        return string
    }

    public mutating func readBlob(limit: Int = 1 << 26) throws(DecodingError) -> [UInt8] {
        let count = try readCount(limit: min(limit, remaining), what: "blob length")
        return try readBytes(count)
    }
}
