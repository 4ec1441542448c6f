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

    /// Length of an XChaCha20-Poly1305-IETF nonce (24 bytes).
    public static let aeadNonceLength = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    /// Length of an XChaCha20-Poly1305-IETF key (32 bytes).
    public static let aeadKeyLength = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    /// Length of the Poly1305 tag appended to every ciphertext (16 bytes).
    public static let aeadTagLength = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    /// What `crypto_box_seal` adds to a message: an ephemeral X25519 public key and a tag (48 bytes).
    public static let sealedBoxOverhead = Int(crypto_box_sealbytes())

    /// XChaCha20-Poly1305-IETF encryption (`crypto_aead_xchacha20poly1305_ietf_encrypt`): the
    /// ciphertext followed by its 16-byte tag, authenticating `additionalData` as well.
    /// - Returns: nil when the nonce or key has the wrong length.
    public static func aeadEncrypt(_ plaintext: ArraySlice<UInt8>, additionalData: ArraySlice<UInt8>, nonce: [UInt8], key: [UInt8]) -> [UInt8]? {
        ensureInitialised()
        guard nonce.count == aeadNonceLength, key.count == aeadKeyLength else { return nil }
        var out = [UInt8](repeating: 0, count: plaintext.count + aeadTagLength)
        var outLength: UInt64 = 0
        let rc = plaintext.withUnsafeBufferPointer { m in
            additionalData.withUnsafeBufferPointer { ad in
                crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &outLength, m.baseAddress, UInt64(plaintext.count),
                                                           ad.baseAddress, UInt64(additionalData.count), nil, nonce, key)
            }
        }
        guard rc == 0 else { return nil }
        return Array(out.prefix(Int(outLength)))
    }

    /// XChaCha20-Poly1305-IETF decryption: nil unless the tag verifies over the ciphertext and
    /// `additionalData` with this key and nonce.
    public static func aeadDecrypt(_ ciphertext: ArraySlice<UInt8>, additionalData: ArraySlice<UInt8>, nonce: [UInt8], key: [UInt8]) -> [UInt8]? {
        ensureInitialised()
        guard nonce.count == aeadNonceLength, key.count == aeadKeyLength, ciphertext.count >= aeadTagLength else { return nil }
        var out = [UInt8](repeating: 0, count: ciphertext.count - aeadTagLength)
        var outLength: UInt64 = 0
        let rc = ciphertext.withUnsafeBufferPointer { c in
            additionalData.withUnsafeBufferPointer { ad in
                crypto_aead_xchacha20poly1305_ietf_decrypt(&out, &outLength, nil, c.baseAddress!, UInt64(ciphertext.count),
                                                           ad.baseAddress, UInt64(additionalData.count), nonce, key)
            }
        }
        guard rc == 0 else { return nil }
        return Array(out.prefix(Int(outLength)))
    }

    /// An anonymous sealed box (`crypto_box_seal`) of `message` for the X25519 public key `recipient`.
    public static func sealedBox(_ message: [UInt8], to recipient: [UInt8]) -> [UInt8]? {
        ensureInitialised()
        guard recipient.count == Int(crypto_box_PUBLICKEYBYTES) else { return nil }
        var out = [UInt8](repeating: 0, count: message.count + sealedBoxOverhead)
        guard crypto_box_seal(&out, message, UInt64(message.count), recipient) == 0 else { return nil }
        return out
    }

    /// Opens a sealed box with the recipient's X25519 key pair; nil when it was not sealed to it
    /// or was altered.
    public static func openSealedBox(_ box: [UInt8], publicKey: [UInt8], secretKey: [UInt8]) -> [UInt8]? {
        ensureInitialised()
        guard box.count >= sealedBoxOverhead, publicKey.count == 32, secretKey.count == 32 else { return nil }
        var out = [UInt8](repeating: 0, count: box.count - sealedBoxOverhead)
        guard crypto_box_seal_open(&out, box, UInt64(box.count), publicKey, secretKey) == 0 else { return nil }
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

    /// The X25519 public key that corresponds to this Ed25519 key
    /// (`crypto_sign_ed25519_pk_to_curve25519`); nil for keys libsodium refuses (small order).
    public var curve25519: [UInt8]? {
        Sodium.ensureInitialised()
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_sign_ed25519_pk_to_curve25519(&out, bytes) == 0 else { return nil }
        return out
    }

    /// Verifies a signature over a slice of a buffer without copying it.
    public func verify(_ signature: ArraySlice<UInt8>, over message: ArraySlice<UInt8>) -> Bool {
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

    /// The X25519 secret key that corresponds to this Ed25519 key
    /// (`crypto_sign_ed25519_sk_to_curve25519`), for opening sealed boxes addressed to `publicKey`.
    public func curve25519SecretKey() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_sign_ed25519_sk_to_curve25519(&out, secretKey)
        return out
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
