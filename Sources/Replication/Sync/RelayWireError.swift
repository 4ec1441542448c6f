/// Why an envelope, a sealed data key or a signed relay request was refused
/// (docs/relay-protocol.md). Always specific; never a crash.
public struct RelayWireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An extensible error code; `description` is the stable snake_case name used on the wire.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: String {
            case malformed
            case unsupportedVersion = "unsupported_version"
            case tooLarge = "too_large"
            case badSignature = "bad_signature"
            case unknownDataKey = "unknown_data_key"
            case decryptionFailed = "decryption_failed"
            case mismatchedPayload = "mismatched_payload"
            case wrongRecipient = "wrong_recipient"
            case wrongBusiness = "wrong_business"
        }
        let value: Value

        /// The bytes do not follow the format (bad magic, truncation, trailing bytes, a bad field).
        public static let malformed = Code(value: .malformed)
        /// A format version this implementation does not know.
        public static let unsupportedVersion = Code(value: .unsupportedVersion)
        /// Longer than the limit the receiver applies.
        public static let tooLarge = Code(value: .tooLarge)
        /// An Ed25519 signature that does not verify against the key it must be checked with.
        public static let badSignature = Code(value: .badSignature)
        /// The envelope names a data-key generation the keyring does not hold.
        public static let unknownDataKey = Code(value: .unknownDataKey)
        /// The AEAD tag does not verify: another key, or altered header or ciphertext.
        public static let decryptionFailed = Code(value: .decryptionFailed)
        /// The decrypted changeset does not match the envelope's business, author or sequence.
        public static let mismatchedPayload = Code(value: .mismatchedPayload)
        /// A sealed data key addressed to another box.
        public static let wrongRecipient = Code(value: .wrongRecipient)
        /// Something of another business than the one expected.
        public static let wrongBusiness = Code(value: .wrongBusiness)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
