import ArgumentParser
import Foundation
import Logging
import Domain
import Replication

/// The `edgenode` command line; the executable's `main` calls `EdgeNodeCLI.main()`.
public struct EdgeNodeCLI: AsyncParsableCommand {
    public init() {}

    /// Parses the command line and runs the command (async, so `serve` can run its services).
    public static func runMain() async {
        let command: any AsyncParsableCommand.Type = EdgeNodeCLI.self
        await command.main()
    }

    public static let configuration = CommandConfiguration(
        commandName: "edgenode",
        abstract: "The shop edge node: a replicated store of the business's data.",
        subcommands: [Init.self, Serve.self, Pair.self, Status.self, Invite.self, Join.self, KeyGen.self, Certify.self, Revoke.self, Owner.self, ChangesetCommand.self, SnapshotCommand.self]
    )
}

struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (default: $EDGENODE_DATA_DIR or /var/lib/edgenode).")
    var path: String = ProcessInfo.processInfo.environment["EDGENODE_DATA_DIR"] ?? "/var/lib/edgenode"

    var directory: ReplicaDirectory { ReplicaDirectory(path: path) }
}

func makeLogger() -> Logger {
    var logger = Logger(label: "edgenode")
    logger.logLevel = .warning
    return logger
}

func nowMilliseconds() -> Int64 { Int64(PhysicalClock.system.now()) }

struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new business on this box: owner key, box key and certificate, database, first branch, owner credentials.")

    @OptionGroup var data: DataDirectoryOption
    @Option(help: "The name of the branch this box serves.") var branch: String = "Main branch"
    @Option(name: .customLong("time-zone"), help: "The branch's IANA time zone (default: the system's).") var timeZone: String?
    @Option(help: "ISO 4217 currency, e.g. KZT (default from the time zone for KZ, GB and BD; required for any other zone).") var currency: String?
    @Option(help: "ISO 3166 region for local phone numbers (default from the time zone).") var region: String?
    @Option(help: "BCP 47 locale (default from the time zone, else en).") var locale: String?
    @Option(name: .customLong("owner-name"), help: "The owner's name, for signing in with a PIN.") var ownerName: String = "Owner"
    @Option(help: "Years the box certificate stays valid.") var years: Int = 5
    @Flag(help: "Read the owner's recovery phrase from standard input instead of creating a new owner key.") var importOwnerPhrase = false

    func run() throws {
        let directory = data.directory
        guard !directory.isInitialised else { throw CommandFailure("\(directory.path) is already initialised; see `edgenode status --data-dir \(directory.path)`") }
        let zone = timeZone ?? Provisioning.systemTimeZone
        let defaults = Provisioning.regionalDefaults[zone]
        // No silent "XXX" (ISO 4217's "no currency"): prices and payments need the real one.
        guard let currency = currency ?? defaults?.currency else {
            throw CommandFailure("""
                no currency is known for the time zone \(zone): give --currency (ISO 4217, e.g. KZT, GBP, BDT) and --region \
                (ISO 3166, e.g. KZ, GB, BD); only the time zones of \(Provisioning.regionalDefaultsSummary) imply them
                """)
        }
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw CommandFailure("--currency \(currency): an ISO 4217 code is three capital letters, e.g. KZT, GBP, BDT")
        }
        let region = region ?? defaults?.region ?? ""
        var owner: SigningKey?
        if importOwnerPhrase {
            let phrase = readLine(strippingNewline: true) ?? ""
            owner = SigningKey(seed: try RecoveryPhrase.decode(phrase))
        }
        var provisioning = Provisioning(branchName: branch, timeZone: zone, currency: currency, region: region,
                                        locale: locale ?? defaults?.locale ?? "en", ownerName: ownerName)
        provisioning.certificateYears = years
        let result = try provisioning.run(in: directory, ownerKey: owner, logger: makeLogger())
        print("""
            Initialised replica in \(directory.path)
              business  \(result.business)
              site      \(result.site)
              branch    \(branch) (\(result.branchID), \(zone), \(currency))

            Owner \(ownerName) signs in on tablets with the PIN \(result.ownerPIN) (shown once; change it in the API).
            The box console's token is in \(result.consoleTokenPath) (edgenode pair and status use it).
            The owner key is in \(directory.ownerKeyPath). Write down its recovery phrase now:
              edgenode owner export-phrase --data-dir \(directory.path)
            then move the owner key off this box if it should not sign certificates here.
            Next:
              edgenode serve --data-dir \(directory.path)          (or: systemctl enable --now edgenode, see docs/install.md)
              edgenode pair CODE --role front_desk --data-dir \(directory.path)   (approve a tablet showing CODE)
              edgenode status --data-dir \(directory.path)
            """)
    }
}

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Initialise a further box of a business: with an invitation from `edgenode invite` (through the relay), or with a certificate from `edgenode certify`.",
        discussion: """
            With --invitation, the box makes its key, asks the relay named in the invitation to join, waits for the owner's box to
            approve (it does so by itself while it runs), and stores the certificate it issued. Until then only the box's key is
            written, so the command can be run again. `serve` then fetches the business from the relay: a snapshot and the
            changesets after it (edgenode status shows the progress).
            """
    )

    @OptionGroup var data: DataDirectoryOption
    @Option(help: "The certificate file made by `edgenode certify` (after `edgenode keygen`).") var certificate: String?
    @Option(help: "The invitation token printed by `edgenode invite` on the owner's box.") var invitation: String?
    @Option(help: "With --invitation: seconds to wait for the owner's box to approve.") var wait: Int = 600
    @Option(help: "With --invitation: this box's name in the owner's log (default: the host name).") var name: String?
    @Option(name: .customLong("relay-ca-file"),
            help: "With --invitation and an https relay with a private CA: a PEM file of the certificates to trust (kept as relay-ca.pem).")
    var relayCAFile: String?

    func validate() throws {
        guard (certificate == nil) != (invitation == nil) else { throw ValidationError("give either --invitation TOKEN or --certificate FILE") }
        guard (1...86_400).contains(wait) else { throw ValidationError("--wait must be 1…86400 seconds") }
        guard relayCAFile == nil || invitation != nil else { throw ValidationError("--relay-ca-file goes with --invitation") }
    }

    func run() async throws {
        let directory = data.directory
        guard !directory.isInitialised else { throw CommandFailure("\(directory.path) is already initialised") }
        if let invitation {
            try await joinWithInvitation(invitation, directory: directory)
            return
        }
        guard let certificate else { return }
        let bytes = try directory.readFile(certificate)
        let decoded = try Certificate.decode(bytes)
        let joined = try JoinSetup.complete(directory: directory, certificateBytes: bytes, pairedBy: "edgenode join")
        print("""
            Joined business \(joined.business.hex) as site \(joined.site.hex) (branch \(decoded.branch)).
            The box console's token is in \(joined.consoleTokenPath).
            Start it with `edgenode serve --data-dir \(directory.path)`: it finds the business's other boxes on the LAN
            (or list them in sync.peers) and fetches the business's data from them.
            """)
    }

    /// gethostname(2): no DNS look-up, unlike Foundation's host name.
    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func joinWithInvitation(_ text: String, directory: ReplicaDirectory) async throws {
        let token: InvitationToken
        do { token = try InvitationToken.parse(text) } catch {
            throw CommandFailure(error.message)
        }
        var join = InvitationJoin(directory: directory, token: token, label: name ?? Self.hostName)
        join.wait = .seconds(wait)
        join.progress = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        join.caFile = relayCAFile
        let result: InvitationJoin.Result
        do { result = try await join.run() } catch let error as InvitationError {
            throw CommandFailure(error.description)
        }
        print("""
            Joined business \(result.business.hex) as site \(result.site.hex) (branch \(result.branch)).
            The box console's token is in \(result.consoleTokenPath).
            The relay \(result.relayURL) is remembered in \(StoredRelayURL.path(directory)); serve uses it unless relay.url is set.
            Start the daemon: edgenode serve --data-dir \(directory.path)   (or: systemctl enable --now edgenode)
            It fetches the business from the relay (a snapshot, then the changesets after it); follow it with
              edgenode status --data-dir \(directory.path)
            """)
    }
}

struct KeyGen: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keygen", abstract: "Create this replica's key (before `join`) and print its public key.")
    @OptionGroup var data: DataDirectoryOption
    func run() throws {
        let directory = data.directory
        try directory.create()
        let key = try directory.loadOrCreateIdentity()
        print(key.publicKey.hex)
    }
}

struct Certify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sign a certificate for another replica with the owner key held in this data directory.")
    @OptionGroup var data: DataDirectoryOption
    @Option(name: .customLong("public-key"), help: "The replica's public key (hex, from `edgenode keygen`).") var publicKey: String
    @Option(help: "Role: box or owner.") var role: String = "box"
    @Option(help: "Branch the replica serves.") var branch: String
    @Option(help: "Days of validity.") var days: Int = 365 * 5
    @Option(help: "Where to write the certificate.") var out: String

    func run() throws {
        let directory = data.directory
        guard let subject = PublicKey(hex: publicKey) else { throw CommandFailure("--public-key must be 64 hexadecimal characters") }
        guard ["box", "owner"].contains(role) else { throw CommandFailure("--role must be box or owner, not \(role)") }
        let owner = try directory.loadOwnerKey()
        let now = nowMilliseconds()
        let certificate = try Certificate.issue(by: owner, for: subject, role: role, branch: branch, notBefore: now - 60_000, notAfter: now + Int64(days) * 86_400_000)
        try directory.writeFile(certificate.encoded, to: out)
        print("Certificate for site \(certificate.subjectSite.hex) written to \(out)")
        // Recorded here too, so this box trusts the new box at once and seals the relay's data
        // key to it (the new box records it as well when it joins).
        switch try IssuedRecords.record(.certificate, certificate.encoded, site: certificate.subjectSite, in: directory, logger: makeLogger()) {
        case .recorded: print("Recorded in this box's replica.")
        case .queued(let path): print("The daemon is running: it records the certificate within 30 s (queued as \(path)).")
        }
    }
}

struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a replica (owner key required); the revocation replicates.")
    @OptionGroup var data: DataDirectoryOption
    @Option(name: .customLong("public-key"), help: "The revoked replica's public key (hex).") var publicKey: String
    @Option(help: "Why.") var reason: String = "revoked by owner"

    func run() throws {
        let directory = data.directory
        guard let subject = PublicKey(hex: publicKey) else { throw CommandFailure("--public-key must be 64 hexadecimal characters") }
        let owner = try directory.loadOwnerKey()
        let revocation = try Revocation.issue(by: owner, revoking: subject, effectiveFrom: nowMilliseconds(), reason: reason)
        let outcome = try IssuedRecords.record(.revocation, revocation.encoded, site: revocation.subjectSite, in: directory, logger: makeLogger())
        print("Revoked site \(revocation.subjectSite.hex) from \(revocation.effectiveFrom)")
        if case .queued(let path) = outcome { print("The daemon is running: it records the revocation within 30 s (queued as \(path)).") }
    }
}

struct Owner: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The owner's root key.", subcommands: [ExportPhrase.self, ImportPhrase.self])

    struct ExportPhrase: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export-phrase", abstract: "Print the owner key as a 24-word recovery phrase.")
        @OptionGroup var data: DataDirectoryOption
        func run() throws {
            let owner = try data.directory.loadOwnerKey()
            print(RecoveryPhrase.encode(seed: owner.seed).joined(separator: " "))
        }
    }

    struct ImportPhrase: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "import-phrase", abstract: "Restore the owner key from a recovery phrase read from standard input.")
        @OptionGroup var data: DataDirectoryOption
        func run() throws {
            let directory = data.directory
            let seed = try RecoveryPhrase.decode(readLine(strippingNewline: true) ?? "")
            let owner = SigningKey(seed: seed)!
            if let expected = try? String(decoding: directory.readFile(directory.ownerPublicKeyPath), as: UTF8.self),
               expected.trimmingCharacters(in: .whitespacesAndNewlines) != owner.publicKey.hex {
                throw CommandFailure("this phrase is for owner key \(owner.publicKey.hex), but \(directory.path) belongs to owner \(expected)")
            }
            try directory.create()
            try directory.writeSecret(owner.seed, to: directory.ownerKeyPath)
            print("Owner key \(owner.publicKey.hex) restored to \(directory.ownerKeyPath)")
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the box's identity, branch, replica vector, changesets, peers and health (from the running daemon if there is one).")
    @OptionGroup var options: NodeOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let configuration = try options.load()
        let directory = ReplicaDirectory(path: configuration.dataDirectory)
        guard directory.isInitialised else { throw CommandFailure("\(directory.path) is not initialised; see `edgenode init --help`") }
        var document: [String: Any]
        var source = "data directory (the daemon is not running)"
        if let client = try? ConsoleClient(configuration: configuration, explicit: (options.bind, options.port)), case let (200, body)? = try? client.request("GET", "/v1/status"),
           let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] {
            document = object
            source = "running daemon on port \(client.port)"
        } else {
            let store = try directory.openStore(logger: makeLogger())
            let shop = try Shop(store: store, logger: makeLogger())
            let status = try NodeStatus.document(store: store, shop: shop, dataDirectory: directory.path, startedAt: nil)
            document = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any] ?? [:]
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("source      \(source)")
        print("site        \(document["site"] ?? "")")
        print("business    \(document["business"] ?? "")")
        print("branch      \(document["branch"] ?? "") (\(document["branch_id"] as? String ?? "no home branch"), role \(document["role"] ?? ""))")
        let vector = document["vector"] as? [String: Any] ?? [:]
        print("vector      \(vector.isEmpty ? "(empty)" : "")")
        for (site, sequence) in vector.sorted(by: { $0.key < $1.key }) {
            print("  \(site) \(sequence)\(site == document["site"] as? String ? " (this box)" : "")")
        }
        print("changesets  \(document["own_changesets"] ?? 0) own, \(document["logged_changesets"] ?? 0) logged, \(document["waiting_changesets"] ?? 0) waiting, \(document["rejected_changesets"] ?? 0) refused")
        if let discovery = document["discovery"] as? [String: Any] {
            print("mDNS        \(discovery["detail"] ?? "")")
        }
        let peers = document["peers"] as? [[String: Any]] ?? []
        print("peers       \(peers.isEmpty ? (source.hasPrefix("running") ? "none heard yet" : "(known only to the running daemon)") : "\(peers.count)")")
        for peer in peers {
            func text(_ key: String) -> String { (peer[key] as? String) ?? "-" }
            func count(_ key: String) -> String { (peer[key] as? Int).map(String.init) ?? "?" }
            print("  \(text("name")) [\(text("state"))] \(text("address")) via \(text("source"))")
            print("    last seen \(text("last_seen")), last sync \(text("last_sync")); pending: \(count("pending_to_peer")) to send, \(count("pending_from_peer")) to receive")
            if let error = peer["last_error"] as? String { print("    last error: \(error)") }
        }
        print("last sync   \(document["last_sync"] as? String ?? "never")")
        if let uplink = document["uplink"] as? [String: Any] {
            func text(_ key: String) -> String { (uplink[key] as? String) ?? "never" }
            func count(_ key: String) -> String { (uplink[key] as? Int).map(String.init) ?? "?" }
            print("relay       \(uplink["url"] as? String ?? "") [\(uplink["state"] as? String ?? "")]")
            print("    last push \(text("last_push")), last pull \(text("last_pull")); pending: \(count("pending_push")) to push, \(count("pending_pull")) to pull")
            if let error = uplink["last_error"] as? String { print("    last error: \(error)") }
            if let warning = uplink["clock_warning"] as? String { print("    clock: \(warning)") }
            if let bootstrap = uplink["bootstrap"] as? [String: Any] {
                func number(_ key: String) -> String { (bootstrap[key] as? Int).map(String.init) ?? "?" }
                let snapshot = bootstrap["snapshot_total_bytes"] is Int ? "snapshot \(number("snapshot_bytes"))/\(number("snapshot_total_bytes")) bytes" : "no snapshot"
                print("    bootstrap \(bootstrap["phase"] as? String ?? "?"): \(snapshot), changesets \(number("changesets"))/\(number("changesets_total"))"
                      + ", started \(bootstrap["started_at"] as? String ?? "?")" + ((bootstrap["finished_at"] as? String).map { ", done \($0)" } ?? ""))
            }
        } else if case let url = StoredRelayURL.effective(configuration.relay, directory: directory).url, !url.isEmpty {
            print("relay       \(url) (known only to the running daemon)")
        }
        let health = document["health"] as? [[String: Any]] ?? []
        print("health      \(health.isEmpty ? "ok" : "")")
        for warning in health { print("  ! \(warning["message"] ?? "")") }
    }
}

struct ChangesetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "changeset", abstract: "Export and apply signed changesets.", subcommands: [Export.self, Apply.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the exact bytes of one logged changeset to a file.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "Author site id (hex); default: this replica.") var author: String?
        @Option(help: "Sequence number.") var sequence: UInt64
        @Option(help: "Output file.") var out: String

        func run() throws {
            let store = try data.directory.openStore(logger: makeLogger())
            let site = try author.map { hex in
                guard let site = SiteID(hex: hex) else { throw CommandFailure("--author must be 32 hexadecimal characters") }
                return site
            } ?? store.site
            guard let bytes = try store.changesetBytes(author: site, sequence: sequence) else {
                throw CommandFailure("no changeset \(sequence) of site \(site.hex) is in the log")
            }
            try data.directory.writeFile(bytes, to: out)
            print("\(bytes.count) bytes written to \(out)")
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify and apply changeset files as one batch.")
        @OptionGroup var data: DataDirectoryOption
        @Argument(help: "Changeset files.") var files: [String]

        func run() throws {
            let store = try data.directory.openStore(logger: makeLogger())
            let report = try store.apply(try files.map { try data.directory.readFile($0) })
            print("applied \(report.applied.count), duplicates \(report.duplicates.count), waiting \(report.waiting.count), refused \(report.rejected.count)")
            for rejection in report.rejected { print("  refused \(rejection)") }
            for gap in report.gaps { print("  gap \(gap)") }
            if !report.rejected.isEmpty { throw ExitCode(2) }
        }
    }
}

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshot", abstract: "Export or merge a signed snapshot of the replicated state.", subcommands: [Export.self, Apply.self])

    struct Export: ParsableCommand {
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "Output file.") var out: String
        func run() throws {
            let store = try data.directory.openStore(logger: makeLogger())
            let bytes = try store.makeSnapshot()
            try data.directory.writeFile(bytes, to: out)
            print("snapshot of \(store.versionVector) (\(bytes.count) bytes) written to \(out)")
        }
    }

    struct Apply: ParsableCommand {
        @OptionGroup var data: DataDirectoryOption
        @Argument(help: "Snapshot file.") var file: String
        func run() throws {
            let store = try data.directory.openStore(logger: makeLogger())
            let vector = try store.applySnapshot(try data.directory.readFile(file))
            print("merged; vector now \(vector)")
        }
    }
}
