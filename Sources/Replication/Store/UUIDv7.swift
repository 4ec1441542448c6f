import Synchronization
import Foundation

/// UUID version 7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits.
/// Primary keys of replicated tables are UUIDv7, generated locally without coordination.
public enum UUIDv7 {
    /// A new UUIDv7 as 16 bytes. Within one millisecond a process's ids increase (RFC 9562
    /// §6.2, method 2: the previous id's random bits plus one), so "oldest first, then by id"
    /// orders rows made in the same millisecond by when this process made them — also when calls
    /// for other milliseconds come in between (threads on different clocks, such as a replica
    /// with a test or demo clock): the last id of each of the 64 most recently used milliseconds is kept.
    public static func generateBytes(milliseconds: UInt64 = PhysicalClock.system.now()) -> [UInt8] {
        recent.withLock { recent in
            var bytes: [UInt8]
            if let index = recent.firstIndex(where: { $0.milliseconds == milliseconds }) {
                let previous = recent.remove(at: index).bytes
                bytes = increment(previous) ?? Sodium.randomBytes(16)
            } else {
                bytes = Sodium.randomBytes(16)
                if recent.count >= 64 { recent.removeFirst() }
            }
            stamp(&bytes, milliseconds: milliseconds)
            recent.append((milliseconds, bytes))
            return bytes
        }
    }

    /// The last id of each recently used millisecond, least recently used first.
    private static let recent = Mutex<[(milliseconds: UInt64, bytes: [UInt8])]>([])

    /// The 62 random bits after the variant (bytes 8–15) plus one; nil on overflow.
    static func increment(_ bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        for index in stride(from: 15, through: 9, by: -1) {
            if result[index] < 0xFF { result[index] += 1; return result }
            result[index] = 0
        }
        guard result[8] & 0x3F < 0x3F else { return nil }
        result[8] += 1
        return result
    }

    /// A new UUIDv7 in its canonical lower-case text form.
    public static func generate(milliseconds: UInt64 = PhysicalClock.system.now()) -> String {
        format(generateBytes(milliseconds: milliseconds))
    }

    /// A UUIDv7 derived deterministically from a hash, for content-addressed rows
    /// (the same content gets the same key on every replica).
    public static func derived(from hash: [UInt8], milliseconds: UInt64) -> String {
        var bytes = Array(hash.prefix(16))
        stamp(&bytes, milliseconds: milliseconds)
        return format(bytes)
    }

    static func stamp(_ bytes: inout [UInt8], milliseconds: UInt64) {
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> UInt64(8 * (5 - i))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
    }

    /// The canonical 8-4-4-4-12 text form.
    public static func format(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            for (index, byte) in bytes.prefix(16).enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                buffer[position] = digits[Int(byte >> 4)]
                buffer[position + 1] = digits[Int(byte & 0x0F)]
                position += 2
            }
            return position
        }
    }

    /// Whether `text` is a UUIDv7 in canonical form (lower or upper case hex).
    public static func isValid(_ text: String) -> Bool {
        if let valid = text.utf8.withContiguousStorageIfAvailable(isValid(utf8:)) { return valid }
        var contiguous = text
        contiguous.makeContiguousUTF8()
        return contiguous.utf8.withContiguousStorageIfAvailable(isValid(utf8:)) ?? false
    }

    private static func isValid(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard utf8.count == 36 else { return false }
        for i in 0..<36 {
            let c = utf8[i]
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !((48...57).contains(c) || (97...102).contains(c) || (65...70).contains(c)) {
                return false
            }
        }
        guard utf8[14] == UInt8(ascii: "7") else { return false }
        switch utf8[19] {
        case UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "A"), UInt8(ascii: "B"): return true
        default: return false
        }
    }

    /// Whether 16 bytes are a UUIDv7.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.count == 16 && bytes[6] >> 4 == 7 && bytes[8] >> 6 == 0b10
    }

    /// The 16 bytes of a UUID in canonical lower-case text form (any version), or nil when `text`
    /// is not exactly that form. Used by the wire encoding (value tag 5).
    static func compactBytes(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 36 else { return nil }
        guard text.utf8.withContiguousStorageIfAvailable({ _ in true }) != nil else {
            var contiguous = text
            contiguous.makeContiguousUTF8()
            return compactBytes(contiguous)
        }
        return text.utf8.withContiguousStorageIfAvailable { utf8 -> [UInt8]? in
            guard utf8[8] == 0x2D, utf8[13] == 0x2D, utf8[18] == 0x2D, utf8[23] == 0x2D else { return nil }
            return [UInt8](unsafeUninitializedCapacity: 16) { out, count in
                count = 0
                var position = 0
                var index = 0
                while index < 16 {
                    if position == 8 || position == 13 || position == 18 || position == 23 { position += 1 }
                    let high = hexValue[Int(utf8[position])], low = hexValue[Int(utf8[position + 1])]
                    guard high < 16, low < 16 else { return }
                    out[index] = high << 4 | low
                    position += 2
                    index += 1
                }
                count = 16
            }
        }.flatMap { $0?.count == 16 ? $0 : nil }
    }

    /// Lower-case hexadecimal digit values; 0xFF for every other byte.
    private static let hexValue: [UInt8] = (0..<256).map { byte in
        switch byte {
        case 48...57: UInt8(byte - 48)
        case 97...102: UInt8(byte - 87)
        default: 0xFF
        }
    }
}
