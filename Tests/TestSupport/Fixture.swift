// One way to make a business's replicas for tests: real SQLite files in a temporary folder, an
// owner key that certifies every replica, one hand-moved clock.
import Domain
import Foundation
import Logging
import Replication

/// A logger that stays quiet unless something is critical.
public let testLogger: Logger = {
    var logger = Logger(label: "edgenode-test")
    logger.logLevel = .critical
    return logger
}()

/// A business under test: its owner key, a temporary folder of real SQLite replicas (deleted
/// with the fixture), and the clock the replicas read unless told otherwise.
public final class TestFixture: @unchecked Sendable {
    public let owner: SigningKey
    public let directory: String
    public let clock: TestClock
    private let lock = NSLock()
    private var counter = 0

    public init(owner: SigningKey = .generate(), clock: TestClock = TestClock(), prefix: String = "edgenode-test") {
        self.owner = owner
        self.clock = clock
        directory = temporaryDirectory(prefix)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// A certificate from the owner for `key` (`role` "box" with a home `branch`, or "owner").
    public func certificate(for key: SigningKey, role: String = "box", branch: String = "test",
                            notBefore: Int64 = 0, notAfter: Int64 = Int64.max / 2) -> Certificate {
        try! Certificate.issue(by: owner, for: key.publicKey, role: role, branch: branch, notBefore: notBefore, notAfter: notAfter)
    }

    /// A new replica on a new SQLite file (`synchronous = OFF` unless told otherwise: most tests
    /// need no durability).
    /// - Parameters:
    ///   - physicalClock: the replica's clock; the fixture's `clock` by default.
    ///   - name: the file's name (without `.sqlite`), to reopen it later; a new one by default.
    ///   - certificate: by default a "box" certificate for `branch`.
    public func makeStore(key: SigningKey = .generate(), physicalClock: PhysicalClock? = nil, name: String? = nil,
                          branch: String = "test", certificate: Certificate? = nil, synchronous: String = "OFF") throws -> ReplicaStore {
        let file = lock.withLock { () -> String in
            counter += 1
            return name ?? "replica\(counter)"
        }
        var configuration = ReplicaConfiguration(path: directory + "/\(file).sqlite")
        configuration.synchronous = synchronous
        configuration.physicalClock = physicalClock ?? clock.physical
        return try ReplicaStore(configuration: configuration, identity: key, ownerKey: owner.publicKey,
                                certificate: certificate ?? self.certificate(for: key, branch: branch), logger: testLogger)
    }

    /// A shop on a new replica whose certificate names `home` as its home branch, or an owner's
    /// device (no home branch) when `home` is nil.
    public func makeShop(home: BranchID?) throws -> Shop {
        let key = SigningKey.generate()
        let certificate = self.certificate(for: key, role: home == nil ? "owner" : "box", branch: home?.rawValue ?? "")
        return try Shop(store: try makeStore(key: key, certificate: certificate), logger: testLogger)
    }
}
