import Foundation
import Logging

/// The files of a replica's data directory:
///
/// - `identity.key`: this replica's Ed25519 seed (32 bytes, mode 0600);
/// - `owner.key`: the business owner's root seed (0600), only on the owner's first replica or
///   wherever the owner imported it;
/// - `owner.pub`: the owner's public key (hex);
/// - `certificate`: this replica's owner-signed certificate;
/// - `replica.sqlite`: the replicated store.
public struct ReplicaDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var identityPath: String { path + "/identity.key" }
    public var ownerKeyPath: String { path + "/owner.key" }
    public var ownerPublicKeyPath: String { path + "/owner.pub" }
    public var certificatePath: String { path + "/certificate" }
    public var databasePath: String { path + "/replica.sqlite" }

    public var isInitialised: Bool { FileManager.default.fileExists(atPath: certificatePath) }

    /// Creates the directory (mode 0700) if needed.
    public func create() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Writes a secret with owner-only permissions, atomically (write to a temporary file, fsync, rename).
    public func writeSecret(_ bytes: [UInt8], to file: String) throws {
        try writeFile(bytes, to: file, mode: 0o600)
    }

    public func writeFile(_ bytes: [UInt8], to file: String, mode: mode_t = 0o644) throws {
        let temporary = file + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { throw ReplicationError(.storage, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result <= 0 {
                close(descriptor)
                throw ReplicationError(.storage, "cannot write \(temporary): \(String(cString: strerror(errno)))")
            }
            written += result
        }
        fchmod(descriptor, mode)
        fsync(descriptor)
        close(descriptor)
        guard rename(temporary, file) == 0 else { throw ReplicationError(.storage, "cannot rename \(temporary): \(String(cString: strerror(errno)))") }
    }

    public func readFile(_ file: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ReplicationError(.notFound, "\(file) does not exist or cannot be read")
        }
        return [UInt8](data)
    }

    /// Reads a seed file, refusing one that others can read.
    public func readSecret(_ file: String) throws -> SigningKey {
        var info = stat()
        guard stat(file, &info) == 0 else { throw ReplicationError(.notFound, "\(file) does not exist") }
        guard info.st_mode & 0o077 == 0 else {
            throw ReplicationError(.invalidArgument, "\(file) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(file)")
        }
        let bytes = try readFile(file)
        guard let key = SigningKey(seed: bytes) else { throw ReplicationError(.invalidArgument, "\(file) is not a 32-byte key seed") }
        return key
    }

    public func loadIdentity() throws -> SigningKey { try readSecret(identityPath) }

    /// Loads the existing identity key or creates one.
    public func loadOrCreateIdentity() throws -> SigningKey {
        if FileManager.default.fileExists(atPath: identityPath) { return try loadIdentity() }
        let key = SigningKey.generate()
        try writeSecret(key.seed, to: identityPath)
        return key
    }

    public var hasOwnerKey: Bool { FileManager.default.fileExists(atPath: ownerKeyPath) }

    public func loadOwnerKey() throws -> SigningKey { try readSecret(ownerKeyPath) }

    public func loadCertificate() throws -> Certificate {
        do { return try Certificate.decode(try readFile(certificatePath)) } catch let error as TrustError {
            throw ReplicationError(.invalidArgument, "\(certificatePath): \(error)")
        }
    }

    /// Opens the replica described by this directory.
    public func openStore(logger: Logger, configure: (inout ReplicaConfiguration) -> Void = { _ in }) throws -> ReplicaStore {
        let identity = try loadIdentity()
        let certificate = try loadCertificate()
        guard certificate.subjectKey == identity.publicKey else {
            throw ReplicationError(.identityMismatch, "the certificate in \(certificatePath) is for another key than identity.key")
        }
        var configuration = ReplicaConfiguration(path: databasePath)
        configure(&configuration)
        return try ReplicaStore(configuration: configuration, identity: identity, ownerKey: certificate.ownerKey, certificate: certificate, logger: logger)
    }
}
