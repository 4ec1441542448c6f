import EdgeNodeApp
import Foundation
import Testing
import TestSupport

/// A running `edgenode serve` with everything it writes collected.
final class Daemon: @unchecked Sendable {
    let child: ChildProcess
    let port: Int
    var process: Process { child.process }

    /// Starts `edgenode` with `arguments` and waits (blocking) until it listens.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        // These tests stay on loopback: never announce over mDNS on this machine's network.
        child = try ChildProcess(name: "edgenode", program: Binaries.edgenode, arguments: arguments,
                                 environment: ChildProcess.cleanEnvironment.merging(["EDGENODE_DISCOVERY_ENABLED": "false"]) { $1 }.merging(environment) { $1 })
        guard let found = try child.waitForLogBlocking(#"listening on http://127\.0\.0\.1:(\d+)"#, timeout: .seconds(120)).flatMap({ Int($0) }) else {
            throw DaemonFailure(log: child.log)
        }
        port = found
    }

    var log: String { child.log }

    func client(token: String = "") -> ConsoleClient { ConsoleClient(host: "127.0.0.1", port: port, token: token) }

    /// SIGTERM, then wait for a clean exit.
    func stop() -> Int32 { child.stop() }
}

struct DaemonFailure: Error, CustomStringConvertible {
    let log: String
    var description: String { "the daemon did not start:\n\(log)" }
}

func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }
func data(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object) }

struct StreamFailure: Error, CustomStringConvertible {
    let description: String
}

extension ConsoleClient {
    /// Opens a connection, asks for the event stream at `path` and returns the socket to read it
    /// from (`readEvents`): the request and its reply stay raw bytes, as a tablet's would.
    func openStream(_ path: String, headers: [String: String] = [:]) throws -> Int32 {
        var head = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\n"
        if !token.isEmpty { head += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let address = info else { throw StreamFailure(description: "cannot resolve \(host)") }
        defer { freeaddrinfo(info) }
        let descriptor = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw StreamFailure(description: "cannot open a socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw StreamFailure(description: "the daemon is not running on \(host):\(port) (\(message))")
        }
        let bytes = Array((head + "\r\n").utf8)
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress!, bytes.count, Int32(MSG_NOSIGNAL)) }
        return descriptor
    }
}

/// Reads an event stream from a socket until `predicate` holds for the text read so far.
func readEvents(_ socket: Int32, until predicate: (String) -> Bool) -> String {
    var text = ""
    var buffer = [UInt8](repeating: 0, count: 16_384)
    let deadline = Date().addingTimeInterval(15)
    while Date() < deadline, !predicate(text) {
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
        if count <= 0 { break }
        text += String(decoding: buffer[0..<count], as: UTF8.self)
    }
    return text
}

@Suite("edgenode serve, end to end", .serialized)
struct DaemonTests {
    @Test("init, serve, pair a tablet with `edgenode pair`, book hold → confirm → check in → complete, see it on the event stream, restart, find it all there")
    func bookingFlowAcrossRestart() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let initOutput = try run(Binaries.edgenode, ["init", "--data-dir", directory, "--branch", "Leeds Kirkgate", "--time-zone", "Europe/London", "--owner-name", "Priya"]).output
        #expect(initOutput.contains("PIN"))
        #expect(FileManager.default.fileExists(atPath: directory + "/console.token"))
        let console = try String(contentsOfFile: directory + "/console.token", encoding: .utf8)
        let arguments = ["serve", "--data-dir", directory, "--bind", "127.0.0.1", "--port", "0", "--log-level", "info"]
        var daemon = try Daemon(arguments)

        // A tablet asks to pair and shows a code; the owner approves it on the box.
        let anonymous = daemon.client()
        let (requested, requestBody) = try anonymous.request("POST", "/v1/pairing-requests", body: data(["device_name": "Kirkgate front desk"]))
        #expect(requested == 201)
        let code = json(requestBody)["code"] as? String ?? ""
        let secret = json(requestBody)["secret"] as? String ?? ""
        let pair = try run(Binaries.edgenode, ["pair", code, "--role", "front_desk", "--data-dir", directory, "--port", String(daemon.port)])
        #expect(pair.output.contains("Approved Kirkgate front desk"))
        let (claimed, claimBody) = try anonymous.request("POST", "/v1/pairing-requests/claim", body: data(["secret": secret]))
        #expect(claimed == 200)
        let token = json(claimBody)["token"] as? String ?? ""
        let tablet = daemon.client(token: token)

        // Catalogue, as a manager would set it up through the API.
        let owner = daemon.client(token: console.trimmingCharacters(in: .whitespacesAndNewlines))
        let (_, branches) = try owner.request("GET", "/v1/branches", body: nil)
        let branch = ((json(branches)["items"] as? [[String: Any]])?.first?["id"] as? String) ?? ""
        let week: [String: Any] = ["mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]],
                                   "fri": [["09:00", "17:00"]], "sat": [["09:00", "17:00"]], "sun": [["09:00", "17:00"]]]
        let (branchStatus, _) = try owner.request("PUT", "/v1/branches/\(branch)", body: data([
            "name": "Leeds Kirkgate", "time_zone": "Europe/London", "currency": "GBP", "region": "GB", "opening_hours": week,
            "policy": ["minimum_notice_minutes": 0, "horizon_days": 30]]))
        #expect(branchStatus == 200)
        let (_, staffBody) = try owner.request("POST", "/v1/staff", body: data(["name": "Priya", "schedule": week]))
        let staff = json(staffBody)["id"] as? String ?? ""
        let (_, serviceBody) = try owner.request("POST", "/v1/services", body: data([
            "names": ["en": "Cut & finish"], "duration_minutes": 45, "price": ["amount_minor": 3500, "currency": "GBP"], "slot_step_minutes": 15]))
        let service = json(serviceBody)["id"] as? String ?? ""
        let (assigned, _) = try owner.request("PUT", "/v1/staff/\(staff)/services/\(service)", body: nil)
        #expect(assigned == 200)

        // Without a token there is no stream.
        #expect(try anonymous.request("GET", "/v1/events", body: nil).0 == 401)
        // The tablet listens for changes while it books.
        let stream = try tablet.openStream("/v1/events")
        defer { close(stream) }
        #expect(readEvents(stream) { $0.contains(": connected") }.contains("200 OK"))

        let tomorrow = ISO8601DateFormatter.string(from: Date().addingTimeInterval(86_400), timeZone: TimeZone(identifier: "Europe/London")!, formatOptions: [.withFullDate])
        let (availabilityStatus, availability) = try tablet.request("GET", "/v1/availability?service=\(service)&date=\(tomorrow)", body: nil)
        #expect(availabilityStatus == 200)
        let starts = ((json(availability)["staff"] as? [[String: Any]])?.first?["starts"] as? [String]) ?? []
        let start = try #require(starts.first { $0.contains("T10:00:00") })
        let (created, createdBody) = try tablet.request("POST", "/v1/appointments", body: data([
            "services": [["service": service, "staff": staff]], "start": start, "guest": ["name": "Oliver Bennett", "phone": "07700 900123"], "hold": true]),
            headers: ["Idempotency-Key": "kirkgate-1"])
        #expect(created == 201, "\(createdBody)")
        let appointment = json(createdBody)["id"] as? String ?? ""
        for action in ["confirm", "check-in", "complete"] {
            let (status, body) = try tablet.request("POST", "/v1/appointments/\(appointment)/\(action)", body: nil)
            #expect(status == 200, "\(action): \(body)")
        }
        let events = readEvents(stream) { $0.contains("\"status\":\"completed\"") }
        #expect(events.contains("event: appointment"))
        #expect(events.contains(appointment))
        #expect(events.contains("\"status\":\"held\"") || events.contains("\"status\":\"confirmed\"") || events.contains("\"status\":\"completed\""))
        let lastID = events.components(separatedBy: "\n").filter { $0.hasPrefix("id: ") }.last.map { String($0.dropFirst(4)) } ?? "0"

        #expect(daemon.stop() == 0)
        #expect(daemon.log.contains("replica store closed cleanly"))

        // After a restart everything is still there, and the stream resumes after the last id without repeating it.
        daemon = try Daemon(arguments)
        let again = daemon.client(token: token)
        let (status, body) = try again.request("GET", "/v1/appointments/\(appointment)", body: nil)
        #expect(status == 200)
        #expect(json(body)["status"] as? String == "completed")
        #expect((json(body)["guest"] as? [String: Any])?["phone"] as? String == "+447700900123")
        let resumed = try again.openStream("/v1/events", headers: ["Last-Event-ID": lastID])
        defer { close(resumed) }
        let (_, noteBody) = try daemon.client(token: console.trimmingCharacters(in: .whitespacesAndNewlines)).request("POST", "/v1/staff", body: data(["name": "Tom", "schedule": week]))
        let tom = json(noteBody)["id"] as? String ?? ""
        let afterRestart = readEvents(resumed) { $0.contains(tom) }
        #expect(afterRestart.contains(tom))
        #expect(!afterRestart.contains("id: \(lastID)\n"))
        let statusOutput = try run(Binaries.edgenode, ["status", "--data-dir", directory, "--port", String(daemon.port)]).output
        #expect(statusOutput.contains("running daemon"))
        #expect(statusOutput.contains("Leeds Kirkgate"))
        #expect(daemon.stop() == 0)
    }

    @Test("pair finds the daemon serving its data directory through daemon.url, and a refusal names the address asked, where it came from and the token file sent")
    func pairNamesTheDaemonItAsked() throws {
        let served = temporaryDirectory(), other = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: served)
            try? FileManager.default.removeItem(atPath: other)
        }
        for directory in [served, other] {
            try run(Binaries.edgenode, ["init", "--data-dir", directory, "--branch", "Leeds", "--time-zone", "Europe/London"])
        }
        let daemon = try Daemon(["serve", "--data-dir", served, "--bind", "127.0.0.1", "--port", "0"])
        defer { _ = daemon.stop() }
        // Without --bind/--port, pair reaches the daemon on its ephemeral port through daemon.url.
        let listed = try run(Binaries.edgenode, ["pair", "--data-dir", served])
        #expect(listed.output.contains("No tablet is waiting to pair"), "\(listed.output)\(listed.error)")
        // The other data directory's console token, sent to this daemon: refused, and the message says so.
        let wrong = try run(Binaries.edgenode, ["pair", "--data-dir", other, "--port", String(daemon.port), "--bind", "127.0.0.1"], check: false)
        #expect(wrong.status != 0)
        #expect(wrong.error.contains("the daemon at 127.0.0.1:\(daemon.port) (from --bind/--port) refused (401)"), "\(wrong.error)")
        #expect(wrong.error.contains("console token from \(other)/console.token"), "\(wrong.error)")
        // The same through a daemon.url that names this daemon.
        try "http://127.0.0.1:\(daemon.port)\n".write(toFile: other + "/daemon.url", atomically: true, encoding: .utf8)
        let viaFile = try run(Binaries.edgenode, ["pair", "--data-dir", other], check: false)
        #expect(viaFile.error.contains("the daemon at 127.0.0.1:\(daemon.port) (from \(other)/daemon.url) refused (401)"), "\(viaFile.error)")
        // Nothing there: the address and its source are named.
        try FileManager.default.removeItem(atPath: other + "/daemon.url")
        let nobody = try run(Binaries.edgenode, ["pair", "--data-dir", other, "--bind", "127.0.0.1", "--port", "9"], check: false)
        #expect(nobody.status != 0 && nobody.error.contains("the daemon is not running on 127.0.0.1:9 (from --bind/--port)"), "\(nobody.error)")
        // An EDGENODE_* variable of someone's script stops nothing and is named in a warning.
        let withScript = try run(Binaries.edgenode, ["pair", "--data-dir", served], environment: ChildProcess.cleanEnvironment.merging(["EDGENODE_BIN": "/usr/local/bin/edgenode"]) { $1 })
        #expect(withScript.error.contains("edgenode: warning: ignoring EDGENODE_BIN: not a configuration variable"), "\(withScript.error)")
    }

    @Test("bad configuration stops start-up naming the key; serve without init explains what to do")
    func badConfiguration() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let badPort = try run(Binaries.edgenode, ["serve", "--data-dir", directory, "--port", "80x"], check: false)
        #expect(badPort.status != 0)
        #expect((badPort.error + badPort.output).contains("http.port"))
        let file = directory + "/edgenode.toml"
        try "[http]\nprot = 8470\n".write(toFile: file, atomically: true, encoding: .utf8)
        let typo = try run(Binaries.edgenode, ["serve", "--config", file], check: false)
        #expect((typo.error + typo.output).contains("http.prot"))
        let environment = Process()
        environment.executableURL = URL(fileURLWithPath: Binaries.edgenode)
        environment.arguments = ["serve", "--data-dir", directory]
        environment.environment = ["EDGENODE_HTTP_PORT": "70000"]
        let pipe = Pipe()
        environment.standardError = pipe
        environment.standardOutput = pipe
        try environment.run()
        environment.waitUntilExit()
        let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(environment.terminationStatus != 0)
        #expect(message.contains("EDGENODE_HTTP_PORT"))
        let uninitialised = try run(Binaries.edgenode, ["serve", "--data-dir", directory + "/empty", "--port", "0"], check: false)
        #expect((uninitialised.error + uninitialised.output).contains("edgenode init"))
    }

    @Test("serve --demo: a seeded salon in Atyrau, systemd READY=1 through $NOTIFY_SOCKET, and SIGINT shuts it down and deletes the demo data")
    func demo() throws {
        let socketPath = NSTemporaryDirectory() + "notify-" + UUID().uuidString.prefix(8)
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver); unlink(socketPath) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(bound == 0)
        let daemon = try Daemon(["serve", "--demo", "--port", "0"], environment: ["NOTIFY_SOCKET": socketPath])
        var buffer = [UInt8](repeating: 0, count: 512)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let received = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress!, $0.count, 0) }
        #expect(received > 0 && String(decoding: buffer[0..<max(0, received)], as: UTF8.self).hasPrefix("READY=1"))
        // The banner follows READY=1 (it is written once the server listens): wait for its lines.
        let token = try daemon.child.waitForLogBlocking(#"front desk +(\S+)"#) ?? ""
        let directory = try daemon.child.waitForLogBlocking(#"Data directory \(deleted on exit\): (\S+)"#) ?? ""
        let client = daemon.client(token: token)
        let (_, services) = try client.request("GET", "/v1/services", body: nil)
        #expect((json(services)["items"] as? [Any])?.count == 15)
        let (_, clients) = try client.request("GET", "/v1/clients?q=%D0%BD%D1%83%D1%80&limit=5", body: nil)
        #expect(!((json(clients)["items"] as? [Any]) ?? []).isEmpty)
        let (health, _) = try daemon.client().request("GET", "/health", body: nil)
        #expect(health == 200)
        let (metricsStatus, metrics) = try daemon.client().request("GET", "/metrics", body: nil)
        #expect(metricsStatus == 200 && metrics.contains("edgenode_http_requests_total") && metrics.contains("edgenode_replica_bytes"))
        daemon.process.interrupt()
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0)
        #expect(!directory.isEmpty && !FileManager.default.fileExists(atPath: directory))
    }
}
