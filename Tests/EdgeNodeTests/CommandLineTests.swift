import Foundation
import Testing
import Replication
import TestSupport

@Suite("edgenode command line")
struct CommandLineTests {
    @Test("init, status, owner phrase export and import")
    func initAndStatus() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let initOutput = try run(Binaries.edgenode, ["init", "--data-dir", directory, "--branch", "Atyrau Central", "--time-zone", "Asia/Atyrau"]).output
        #expect(initOutput.contains("Initialised replica"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/identity.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: directory + "/owner.key")[.posixPermissions] as? Int) == 0o600)

        let status = try run(Binaries.edgenode, ["status", "--data-dir", directory, "--json"]).output
        let json = try JSONSerialization.jsonObject(with: Data(status.utf8)) as! [String: Any]
        #expect(json["branch"] as? String == "Atyrau Central")
        // init writes three changesets: the certificate, the first branch, the owner (a person with a PIN).
        #expect((json["vector"] as? [String: Int])?[json["site"] as! String] == 3)
        #expect((json["health"] as? [Any])?.isEmpty == true)

        // A zone that implies no currency needs --currency: never a silent "XXX" (issue 21); nothing is written.
        let scratch = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let noCurrency = try run(Binaries.edgenode, ["init", "--data-dir", scratch, "--time-zone", "UTC"], check: false)
        #expect(noCurrency.status != 0)
        #expect(noCurrency.error.contains("no currency is known for the time zone UTC: give --currency"), "\(noCurrency.error)")
        let lowercase = try run(Binaries.edgenode, ["init", "--data-dir", scratch, "--time-zone", "UTC", "--currency", "usd"], check: false)
        #expect(lowercase.status != 0 && lowercase.error.contains("--currency usd: an ISO 4217 code is three capital letters"), "\(lowercase.error)")
        #expect(!FileManager.default.fileExists(atPath: scratch + "/identity.key"))

        // Second init refuses to overwrite.
        let again = try run(Binaries.edgenode, ["init", "--data-dir", directory], check: false)
        #expect(again.status != 0)
        #expect(again.error.contains("already initialised"))

        // The phrase restores the same owner key on another machine.
        let phrase = try run(Binaries.edgenode, ["owner", "export-phrase", "--data-dir", directory]).output
        #expect(phrase.split(separator: " ").count == 24)
        let restored = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: restored) }
        try run(Binaries.edgenode, ["owner", "import-phrase", "--data-dir", restored], input: phrase)
        #expect(FileManager.default.contents(atPath: restored + "/owner.key") == FileManager.default.contents(atPath: directory + "/owner.key"))
        let bad = try run(Binaries.edgenode, ["owner", "import-phrase", "--data-dir", restored], input: "abandon abandon", check: false)
        #expect(bad.status != 0 && bad.error.contains("24 words"))
    }

    @Test("a second replica joins with an owner-signed certificate, and changeset files move between them")
    func joinAndExchange() throws {
        let first = temporaryDirectory(), second = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        try run(Binaries.edgenode, ["init", "--data-dir", first, "--branch", "one", "--time-zone", "UTC", "--currency", "USD", "--region", "US"])
        let key = try run(Binaries.edgenode, ["keygen", "--data-dir", second]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try run(Binaries.edgenode, ["certify", "--data-dir", first, "--public-key", key, "--branch", "two", "--out", second + "/cert"])
        try run(Binaries.edgenode, ["join", "--data-dir", second, "--certificate", second + "/cert"])
        let firstStatus = try JSONSerialization.jsonObject(with: Data(try run(Binaries.edgenode, ["status", "--data-dir", first, "--json"]).output.utf8)) as! [String: Any]
        try run(Binaries.edgenode, ["changeset", "export", "--data-dir", first, "--sequence", "1", "--out", second + "/c1"])
        let applied = try run(Binaries.edgenode, ["changeset", "apply", "--data-dir", second, second + "/c1"]).output
        #expect(applied.contains("applied 1"))
        let secondStatus = try JSONSerialization.jsonObject(with: Data(try run(Binaries.edgenode, ["status", "--data-dir", second, "--json"]).output.utf8)) as! [String: Any]
        #expect((secondStatus["vector"] as? [String: Int])?[firstStatus["site"] as! String] == 1)
        #expect(secondStatus["business"] as? String == firstStatus["business"] as? String)

        // A corrupted file is refused with its reason and a non-zero exit.
        var bytes = [UInt8](FileManager.default.contents(atPath: second + "/c1")!)
        bytes[bytes.count - 10] ^= 0xFF
        #expect(FileManager.default.createFile(atPath: second + "/bad", contents: Data(bytes)))
        let refused = try run(Binaries.edgenode, ["changeset", "apply", "--data-dir", second, second + "/bad"], check: false)
        #expect(refused.status != 0)
        #expect(refused.output.contains("bad_signature"))
    }

    @Test("an independent implementation (PyNaCl) decodes an exported changeset and verifies its signature")
    func independentVerification() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try run(Binaries.edgenode, ["init", "--data-dir", directory, "--branch", "verify", "--time-zone", "Asia/Dhaka"])
        let status = try JSONSerialization.jsonObject(with: Data(try run(Binaries.edgenode, ["status", "--data-dir", directory, "--json"]).output.utf8)) as! [String: Any]
        let file = directory + "/changeset-1"
        try run(Binaries.edgenode, ["changeset", "export", "--data-dir", directory, "--sequence", "1", "--out", file])
        let script = Binaries.packageRoot + "/Tests/python/verify_changeset.py"
        let result = try run("/usr/bin/env", ["python3", script, file, status["public_key"] as! String, "--expect-site", status["site"] as! String])
        let decoded = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [String: Any]
        #expect(decoded["ok"] as? Bool == true)
        #expect(decoded["sequence"] as? Int == 1)
        let rows = decoded["rows"] as! [[String: Any]]
        #expect(rows.first?["table"] as? String == "edgenode_certificates")

        // One flipped byte: the independent verifier refuses it too.
        var bytes = [UInt8](FileManager.default.contents(atPath: file)!)
        bytes[60] ^= 0x01
        #expect(FileManager.default.createFile(atPath: file + ".bad", contents: Data(bytes)))
        let refused = try run("/usr/bin/env", ["python3", script, file + ".bad", status["public_key"] as! String], check: false)
        #expect(refused.status == 1)
        #expect(refused.output.contains("\"ok\": false"))
    }
}
