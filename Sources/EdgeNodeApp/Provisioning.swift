import Domain
import Foundation
import Logging
import Replication

/// Creating a new business on a box: keys, certificate, database, first branch, owner.
public struct Provisioning: Sendable {
    public var branchName: String
    public var timeZone: String
    public var currency: String
    public var region: String
    public var locale: String
    public var ownerName: String
    public var certificateYears: Int = 5

    public init(branchName: String, timeZone: String, currency: String, region: String, locale: String, ownerName: String) {
        self.branchName = branchName
        self.timeZone = timeZone
        self.currency = currency
        self.region = region
        self.locale = locale
        self.ownerName = ownerName
    }

    /// What `init` prints once and never stores in clear.
    public struct Result: Sendable {
        public var branchID: BranchID
        public var ownerPIN: String
        public var ownerPersonID: PersonID
        public var consoleTokenPath: String
        public var business: String
        public var site: String
    }

    /// The file with the box console's device token (owner role, mode 0600): `edgenode pair`
    /// and `edgenode status` use it to talk to the running daemon.
    public static func consoleTokenPath(_ directory: ReplicaDirectory) -> String { directory.path + "/console.token" }

    /// Defaults by time zone for the few places we know; anything else must be given.
    static let regionalDefaults: [String: (currency: String, region: String, locale: String)] = [
        "Asia/Atyrau": ("KZT", "KZ", "ru-KZ"), "Asia/Almaty": ("KZT", "KZ", "ru-KZ"), "Asia/Aqtobe": ("KZT", "KZ", "ru-KZ"),
        "Asia/Aqtau": ("KZT", "KZ", "ru-KZ"), "Asia/Oral": ("KZT", "KZ", "ru-KZ"), "Asia/Qostanay": ("KZT", "KZ", "ru-KZ"),
        "Asia/Qyzylorda": ("KZT", "KZ", "ru-KZ"), "Europe/London": ("GBP", "GB", "en-GB"), "Asia/Dhaka": ("BDT", "BD", "bn-BD"),
    ]

    /// For messages: "Kazakhstan (Asia/Almaty, …), the UK (Europe/London) and Bangladesh (Asia/Dhaka)".
    static let regionalDefaultsSummary = "Kazakhstan (Asia/Almaty, Asia/Atyrau, …), the UK (Europe/London) and Bangladesh (Asia/Dhaka)"

    /// The system's zone (`/etc/localtime`), else UTC.
    static var systemTimeZone: String {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/etc/localtime"), let range = target.range(of: "zoneinfo/") {
            return String(target[range.upperBound...])
        }
        if let text = try? String(contentsOfFile: "/etc/timezone", encoding: .utf8) {
            let zone = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !zone.isEmpty { return zone }
        }
        return "UTC"
    }

    /// Initialises `directory` (which must not be initialised yet). `ownerKey` is a new key unless given.
    public func run(in directory: ReplicaDirectory, ownerKey: SigningKey? = nil, physicalClock: PhysicalClock = .system, logger: Logger) throws -> Result {
        guard !directory.isInitialised else { throw CommandFailure("\(directory.path) is already initialised; see `edgenode status --data-dir \(directory.path)`") }
        _ = try ZoneRules.named(timeZone)
        try directory.create()
        let owner = try ownerKey ?? (directory.hasOwnerKey ? directory.loadOwnerKey() : SigningKey.generate())
        try directory.writeSecret(owner.seed, to: directory.ownerKeyPath)
        try directory.writeFile(Array(owner.publicKey.hex.utf8), to: directory.ownerPublicKeyPath)
        let identity = try directory.loadOrCreateIdentity()
        let now = Int64(physicalClock.now())
        let branchID = BranchID.generate(at: Instant(milliseconds: now))
        // The certificate names the branch by id: that makes this box the home (authority) of its calendar.
        let certificate = try Certificate.issue(by: owner, for: identity.publicKey, role: "box", branch: branchID.rawValue,
                                                notBefore: now - 60_000, notAfter: now + Int64(certificateYears) * 365 * 86_400_000)
        try directory.writeFile(certificate.encoded, to: directory.certificatePath)
        let store = try directory.openStore(logger: logger) { $0.physicalClock = physicalClock }
        let shop = try Shop(store: store, logger: logger)
        let weekdays: [Weekday] = [.monday, .tuesday, .wednesday, .thursday, .friday, .saturday]
        try shop.save(Branch(id: branchID, name: branchName, timeZone: timeZone, currency: currency, locale: locale, region: region,
                             openingHours: .every(weekdays, [WallInterval("09:00", "19:00")].compactMap { $0 })))
        let pin = String(format: "%06u", Sodium.randomBytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % 1_000_000)
        let person = try shop.createPerson(name: ownerName, role: .owner, pin: pin)
        let (_, token) = try shop.registerDevice(name: "Box console", role: .owner, pairedBy: "edgenode init")
        try directory.writeFile(Array(token.utf8), to: Self.consoleTokenPath(directory), mode: 0o600)
        return Result(branchID: branchID, ownerPIN: pin, ownerPersonID: person.id, consoleTokenPath: Self.consoleTokenPath(directory),
                      business: store.business.hex, site: store.site.hex)
    }
}
