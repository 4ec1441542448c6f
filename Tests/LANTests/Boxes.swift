import Foundation
import Testing
@testable import EdgeNodeApp
import TestSupport

/// The real `edgenode` binary, built next to this test bundle (or in $EDGENODE_BIN_DIR).
enum Binary {
    static let edgenode: String = {
        if let override = ProcessInfo.processInfo.environment["EDGENODE_BIN_DIR"] { return override + "/edgenode" }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path + "/edgenode"
    }()
}

/// One box: a data directory and an `edgenode serve` in a lab host.
final class Box: @unchecked Sendable {
    let host: NetLab.Host
    let directory: String
    let port = 8470
    var environment: [String: String] = [:]

    init(host: NetLab.Host, directory: String) {
        self.host = host
        self.directory = directory
    }

    /// `edgenode init`: a new business.
    static func initialise(_ host: NetLab.Host, branch: String, root: String) throws -> Box {
        let box = Box(host: host, directory: "\(root)/\(host.name)-data")
        try shell(Binary.edgenode, ["init", "--data-dir", box.directory, "--branch", branch, "--time-zone", "Asia/Atyrau", "--currency", "KZT", "--region", "KZ"])
        return box
    }

    /// keygen here, certify on `owner`'s box, join: another box of the same business and branch.
    static func join(_ host: NetLab.Host, owner: Box, root: String) throws -> Box {
        let box = Box(host: host, directory: "\(root)/\(host.name)-data")
        let key = try shell(Binary.edgenode, ["keygen", "--data-dir", box.directory]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let status = try JSONSerialization.jsonObject(with: Data(try shell(Binary.edgenode, ["status", "--json", "--data-dir", owner.directory, "--port", "1"]).output.utf8)) as! [String: Any]
        let certificate = "\(root)/\(host.name).cert"
        try shell(Binary.edgenode, ["certify", "--data-dir", owner.directory, "--public-key", key, "--branch", status["branch_id"] as! String, "--out", certificate])
        try shell(Binary.edgenode, ["join", "--data-dir", box.directory, "--certificate", certificate])
        return box
    }

    var token: String { ((try? String(contentsOfFile: directory + "/console.token", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
    var client: ConsoleClient { ConsoleClient(host: host.managementAddress, port: port, token: token) }

    func serve(_ extra: [String: String] = [:]) throws {
        var env = ["EDGENODE_LOG_LEVEL": "info", "EDGENODE_DISCOVERY_RETRY_MAX_SECONDS": "2"]
        env.merge(environment) { $1 }
        env.merge(extra) { $1 }
        try host.start("edgenode", Binary.edgenode, ["serve", "--data-dir", directory, "--port", "\(port)"], environment: env)
        guard holdsWithin(.seconds(30), { isHealthy }) else { throw LabError("\(host.name)'s box did not start: \(log)") }
    }

    func stop() { host.stop("edgenode") }

    var log: String { host.logText("edgenode") }

    var isHealthy: Bool { (try? ConsoleClient(host: host.managementAddress, port: port, token: "").request("GET", "/health", body: nil).0) == 200 }

    func status() throws -> [String: Any] {
        let (code, body) = try client.request("GET", "/v1/status", body: nil)
        guard code == 200 else { throw LabError("status from \(host.name): \(code) \(body)") }
        return try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
    }

    var vector: [String: Int] { ((try? status())?["vector"] as? [String: Int]) ?? [:] }
    var discoveryState: String { (((try? status())?["discovery"] as? [String: Any])?["state"] as? String) ?? "none" }
    var peers: [[String: Any]] { ((try? status())?["peers"] as? [[String: Any]]) ?? [] }

    @discardableResult
    func createClient(_ name: String) throws -> String {
        let (code, body) = try client.request("POST", "/v1/clients", body: try JSONSerialization.data(withJSONObject: ["name": name]))
        guard code == 201 || code == 200 else { throw LabError("creating a client on \(host.name): \(code) \(body)") }
        return body
    }

    /// Every client's name (paging through the list).
    func clientNames() throws -> [String] {
        var names: [String] = []
        var after: String?
        while true {
            let path = "/v1/clients?limit=200" + (after.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? "")
            let (code, body) = try client.request("GET", path, body: nil)
            guard code == 200 else { throw LabError("listing clients on \(host.name): \(code) \(body)") }
            let page = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
            let items = page["items"] as? [[String: Any]] ?? []
            names += items.compactMap { $0["name"] as? String }
            guard let next = page["next_cursor"] as? String, !items.isEmpty else { return names.sorted() }
            after = next
        }
    }
}
