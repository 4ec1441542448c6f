/// The owner key's 32-byte seed as a 24-word BIP-39 phrase (English list, SHA-256 checksum),
/// so that a person can write it down and re-import it on a new device.
public enum RecoveryPhrase {
    /// The phrase for a 32-byte seed.
    public static func encode(seed: [UInt8]) -> [String] {
        precondition(seed.count == 32, "a recovery phrase encodes a 32-byte seed")
        let checksum = Sodium.sha256(seed)[0]
        let bits = seed + [checksum]   // 264 bits = 24 × 11
        var words: [String] = []
        for index in 0..<24 {
            var value = 0
            for bit in (index * 11)..<(index * 11 + 11) {
                value = value << 1 | Int((bits[bit / 8] >> (7 - UInt8(bit % 8))) & 1)
            }
            words.append(BIP39EnglishWords.all[value])
        }
        return words
    }

    /// The seed for a phrase.
    /// - Throws: `RecoveryPhraseError` naming the unknown word, the wrong length or the bad checksum.
    public static func decode(_ phrase: String) throws(RecoveryPhraseError) -> [UInt8] {
        let words = phrase.lowercased().split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "," }).map(String.init)
        guard words.count == 24 else { throw RecoveryPhraseError(message: "a recovery phrase has 24 words; got \(words.count)") }
        var indices: [Int] = []
        for (position, word) in words.enumerated() {
            guard let index = BIP39EnglishWords.index[word] else {
                throw RecoveryPhraseError(message: "word \(position + 1) (\"\(word)\") is not in the BIP-39 English word list")
            }
            indices.append(index)
        }
        var bits = [UInt8](repeating: 0, count: 33)
        for (wordIndex, value) in indices.enumerated() {
            for b in 0..<11 where value >> (10 - b) & 1 == 1 {
                let bit = wordIndex * 11 + b
                bits[bit / 8] |= 1 << (7 - UInt8(bit % 8))
            }
        }
        let seed = Array(bits[0..<32])
        guard Sodium.sha256(seed)[0] == bits[32] else {
            throw RecoveryPhraseError(message: "the checksum does not match: a word is wrong or out of order")
        }
        return seed
    }
}

public struct RecoveryPhraseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension BIP39EnglishWords {
    static let index: [String: Int] = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })
}
