import CSodium

/// libsodium primitives used by replication: Ed25519, BLAKE2b, SHA-256, randomness.
public enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    /// Makes sure libsodium is initialised; every entry point below calls it.
    @inline(__always) static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise")
    }

    /// `count` cryptographically secure random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        ensureInitialised()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return bytes
    }

    /// BLAKE2b with an output of `length` bytes (16...64), optionally keyed.
    public static func blake2b(_ input: [UInt8], length: Int = 32, key: [UInt8] = []) -> [UInt8] {
        ensureInitialised()
        var out = [UInt8](repeating: 0, count: length)
        _ = input.withUnsafeBufferPointer { inputPointer in
            key.withUnsafeBufferPointer { keyPointer in
                crypto_generichash(&out, length, inputPointer.baseAddress, UInt64(input.count),
                                   key.isEmpty ? nil : keyPointer.baseAddress, key.count)
            }
        }
        return out
    }

    /// An Argon2id hash string of a short secret (a PIN), with a random salt, in libsodium's
    /// `$argon2id$…` format. Memory is kept at 8 MiB so a small box can verify it quickly; a PIN's
    /// real protection is the online attempt limit, not the hash.
    public static func passwordHash(_ secret: String) -> String? {
        ensureInitialised()
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let bytes = Array(secret.utf8).map { CChar(bitPattern: $0) } + [0]
        let result = bytes.withUnsafeBufferPointer { pointer in
            crypto_pwhash_str(&out, pointer.baseAddress!, UInt64(bytes.count - 1), 2, 8 * 1024 * 1024)
        }
        guard result == 0, let end = out.firstIndex(of: 0) else { return nil }
        return String(decoding: out[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `secret` matches a hash made by `passwordHash`.
    public static func passwordVerify(_ secret: String, hash: String) -> Bool {
        ensureInitialised()
        let bytes = Array(secret.utf8).map { CChar(bitPattern: $0) } + [0]
        return bytes.withUnsafeBufferPointer { pointer in
            hash.withCString { crypto_pwhash_str_verify($0, pointer.baseAddress!, UInt64(bytes.count - 1)) == 0 }
        }
    }

    /// SHA-256.
    public static func sha256(_ input: [UInt8]) -> [UInt8] {
        ensureInitialised()
        var out = [UInt8](repeating: 0, count: 32)
        _ = input.withUnsafeBufferPointer { crypto_hash_sha256(&out, $0.baseAddress, UInt64(input.count)) }
        return out
    }

}

/// An Ed25519 public key (32 bytes).
public struct PublicKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard let bytes = [UInt8](hex: hex) else { return nil }
        self.init(bytes: bytes)
    }

    public var hex: String { bytes.hexString }
    public var description: String { hex }

    /// Verifies an Ed25519 detached signature over `message`.
    public func verify(_ signature: [UInt8], over message: [UInt8]) -> Bool {
        Sodium.ensureInitialised()
        guard signature.count == 64 else { return false }
        return message.withUnsafeBufferPointer { m in
            crypto_sign_verify_detached(signature, m.baseAddress, UInt64(message.count), bytes) == 0
        }
    }

    /// Verifies a signature over a slice of a buffer without copying it.
    func verify(_ signature: ArraySlice<UInt8>, over message: ArraySlice<UInt8>) -> Bool {
        Sodium.ensureInitialised()
        guard signature.count == 64 else { return false }
        return signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                crypto_sign_verify_detached(s.baseAddress!, m.baseAddress, UInt64(message.count), bytes) == 0
            }
        }
    }
}

/// An Ed25519 key pair. The secret part never leaves the process except through `seed`.
public struct SigningKey: Sendable {
    /// The 32-byte seed from which the key pair is derived.
    public let seed: [UInt8]
    public let publicKey: PublicKey
    private let secretKey: [UInt8]

    /// Derives the key pair from a 32-byte seed.
    public init?(seed: [UInt8]) {
        guard seed.count == 32 else { return nil }
        Sodium.ensureInitialised()
        var publicBytes = [UInt8](repeating: 0, count: 32)
        var secretBytes = [UInt8](repeating: 0, count: 64)
        guard crypto_sign_seed_keypair(&publicBytes, &secretBytes, seed) == 0 else { return nil }
        self.seed = seed
        self.publicKey = PublicKey(bytes: publicBytes)!
        self.secretKey = secretBytes
    }

    /// A new random key pair.
    public static func generate() -> SigningKey {
        SigningKey(seed: Sodium.randomBytes(32))!
    }

    /// An Ed25519 detached signature (64 bytes) over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 64)
        message.withUnsafeBufferPointer { m in
            _ = crypto_sign_detached(&signature, nil, m.baseAddress, UInt64(message.count), secretKey)
        }
        return signature
    }
}
