import EdgeNodeApp
import Foundation
import Logging
import Replication
import Synchronization
import Testing
import TestSupport

/// Issue 14 item 4, with real processes: `edgenode serve` under a load of idempotent writes is
/// killed with SIGKILL at seeded points and restarted; every request that got no answer is
/// retried with its key and body. A retry must return what the first attempt returned (when
/// that was answered) or perform the request for the first time — never another outcome (such as
/// `409 slot_taken` for the booking it made itself), never a duplicate.
@Suite("Idempotency across SIGKILL", .serialized)
struct IdempotencyCrashTests {
    /// One idempotent request of the load.
    struct Sent: Sendable {
        enum Kind: Sendable { case booking, client, cancel(appointment: String), checkout(appointment: String) }
        let key: String
        let kind: Kind
        let method: String
        let path: String
        let body: Data
        /// The answer to the first attempt (nil: the box died first), then to the retry after the restart.
        var first: (status: Int, body: String)?
        var retry: (status: Int, body: String)?
        var outcome: (status: Int, body: String)? { first ?? retry }
    }

    /// The load's shared state: the seeded choices, what was sent and answered.
    final class Load: @unchecked Sendable {
        let condition = NSCondition()
        var generator: SeededGenerator
        var sent: [Sent] = []
        var answered = 0
        var stopping = false
        var booked: [String] = []   // appointments whose booking was answered 201, not yet picked for a cancel
        var counter = 0
        let round: Int
        let dates: [String]
        let staff: [String]
        let service: String

        init(seed: UInt64, round: Int, dates: [String], staff: [String], service: String, booked: [String]) {
            generator = SeededGenerator(seed: seed)
            self.round = round
            self.dates = dates
            self.staff = staff
            self.service = service
            self.booked = booked
        }

        /// The next request: mostly bookings (slots drawn from a small pool, so some are taken),
        /// some new clients, some cancellations of answered bookings.
        func next() -> Int? {
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else { return nil }
            counter += 1
            let key = "r\(round)-\(counter)"
            let draw = generator.next() % 10
            let request: Sent
            if draw == 0 {
                request = Sent(key: key, kind: .client, method: "POST", path: "/v1/clients", body: data(["name": key]))
            } else if draw == 2, !booked.isEmpty {
                // Issue 16: a checkout paid by card in the same request (a custom line carries the key, to find the sale).
                let appointment = booked.remove(at: Int(generator.next() % UInt64(booked.count)))
                request = Sent(key: key, kind: .checkout(appointment: appointment), method: "POST", path: "/v1/sales", body: data([
                    "appointments": [appointment], "lines": [["name": key, "quantity": 1, "unit_price_minor": 0]],
                    "payments": [["method": "card", "amount_minor": 5000, "card_last4": "1234"]]]))
            } else if draw == 1, !booked.isEmpty {
                let appointment = booked.remove(at: Int(generator.next() % UInt64(booked.count)))
                request = Sent(key: key, kind: .cancel(appointment: appointment), method: "POST", path: "/v1/appointments/\(appointment)/cancel",
                               body: data(["by": "shop", "reason": key]))
            } else {
                let date = dates[Int(generator.next() % UInt64(dates.count))]
                let minutes = 9 * 60 + 30 * Int(generator.next() % 16)
                let start = String(format: "%@T%02d:%02d:00Z", date, minutes / 60, minutes % 60)
                let person = staff[Int(generator.next() % UInt64(staff.count))]
                request = Sent(key: key, kind: .booking, method: "POST", path: "/v1/appointments", body: data([
                    "services": [["service": service, "staff": person]], "start": start, "guest": ["name": "Guest \(key)"], "special_requests": key]))
            }
            sent.append(request)
            return sent.count - 1
        }

        func answer(_ index: Int, status: Int, body: String) {
            condition.withLock {
                sent[index].first = (status, body)
                answered += 1
                if sent[index].kind.isBooking, status == 201, let id = json(body)["id"] as? String { booked.append(id) }
                condition.broadcast()
            }
        }

        /// Waits until `count` requests were answered (or the deadline passes); then no new request starts.
        func stop(after count: Int, deadline: Date) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while answered < count, condition.wait(until: deadline) {}
            stopping = true
            return answered >= count
        }
    }

    @Test("SIGKILL under a load of idempotent bookings, new clients, cancellations and paid checkouts; every unanswered request retried with its key",
          .timeLimit(.minutes(2)))
    func killAndRetry() async throws {
        try await offPool { try Self.rounds(seeds: [14_04_01, 14_04_02, 14_04_03, 14_04_04, 14_04_05]) }
    }

    static func rounds(seeds: [UInt64]) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try run(Binaries.edgenode, ["init", "--data-dir", directory, "--branch", "Reykjavik", "--time-zone", "Atlantic/Reykjavik", "--currency", "ISK", "--region", "IS", "--owner-name", "Anna"])
        let token = try String(contentsOfFile: directory + "/console.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let arguments = ["serve", "--data-dir", directory, "--bind", "127.0.0.1", "--port", "0", "--log-level", "info"]
        var daemon = try Daemon(arguments)

        // A branch open every day 09:00–17:00 (UTC all year), two staff, one 30-minute service.
        let owner = daemon.client(token: token)
        let (_, branches) = try owner.request("GET", "/v1/branches", body: nil)
        let branch = ((json(branches)["items"] as? [[String: Any]])?.first?["id"] as? String) ?? ""
        let week = Dictionary(uniqueKeysWithValues: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { ($0, [["09:00", "17:00"]]) })
        let (branchStatus, _) = try owner.request("PUT", "/v1/branches/\(branch)", body: data([
            "name": "Reykjavik", "time_zone": "Atlantic/Reykjavik", "currency": "ISK", "region": "IS", "opening_hours": week,
            "policy": ["minimum_notice_minutes": 0, "horizon_days": 30]]))
        #expect(branchStatus == 200)
        let (_, serviceBody) = try owner.request("POST", "/v1/services", body: data([
            "names": ["en": "Cut"], "duration_minutes": 30, "price": ["amount_minor": 5000, "currency": "ISK"], "slot_step_minutes": 30]))
        let service = json(serviceBody)["id"] as? String ?? ""
        var staff: [String] = []
        for name in ["Anna", "Birna"] {
            let (_, staffBody) = try owner.request("POST", "/v1/staff", body: data(["name": name, "schedule": week]))
            let id = json(staffBody)["id"] as? String ?? ""
            #expect(try owner.request("PUT", "/v1/staff/\(id)/services/\(service)", body: nil).0 == 200)
            staff.append(id)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        let dates = (1...6).map { formatter.string(from: Date().addingTimeInterval(Double($0) * 86_400)) }

        var all: [Sent] = []
        var booked: [String] = []
        var unanswered = 0
        for (round, seed) in seeds.enumerated() {
            let load = Load(seed: seed, round: round, dates: dates, staff: staff, service: service, booked: booked)
            var killPoint = SeededGenerator(seed: seed ^ 0x5EED)
            let target = 25 + Int(killPoint.next() % 50)
            let workers = DispatchGroup()
            let port = daemon.port
            for _ in 0..<8 {
                workers.enter()
                Thread {
                    defer { workers.leave() }
                    let client = ConsoleClient(host: "127.0.0.1", port: port, token: token)
                    while let index = load.next() {
                        let request = load.condition.withLock { load.sent[index] }
                        // Every answer of these endpoints is a JSON object; anything else (nothing, a cut-off body) is no answer: the box died.
                        guard let (status, body) = try? client.request(request.method, request.path, body: request.body, headers: ["Idempotency-Key": request.key]),
                              !json(body).isEmpty else { return }
                        load.answer(index, status: status, body: body)
                    }
                }.start()
            }
            #expect(load.stop(after: target, deadline: Date().addingTimeInterval(60)), "round \(round): the load stalled")
            usleep(useconds_t(killPoint.next() % 5_000))
            Foundation.kill(daemon.process.processIdentifier, SIGKILL)
            daemon.process.waitUntilExit()
            #expect(workers.wait(timeout: .now() + 30) == .success, "round \(round): a request outlived the box")

            daemon = try Daemon(arguments)
            let client = daemon.client(token: token)
            var sent = load.condition.withLock { load.sent }
            for index in sent.indices {
                let request = sent[index]
                let (status, body) = try client.request(request.method, request.path, body: request.body, headers: ["Idempotency-Key": request.key])
                sent[index].retry = (status, body)
                if let first = request.first {
                    #expect(status == first.status && body == first.body, "\(request.key): answered \(first.status) \(first.body) before the crash, \(status) \(body) after it")
                } else {
                    unanswered += 1
                }
            }
            for request in sent where request.first == nil && request.kind.isBooking && request.retry?.status == 201 {
                if let id = json(request.retry!.body)["id"] as? String { load.condition.withLock { load.booked.append(id) } }
            }
            booked = load.condition.withLock { load.booked }
            all += sent
        }
        #expect(daemon.stop() == 0)
        #expect(unanswered > 0, "no request was in flight when the box was killed: the test proved nothing")

        // What the box holds: each request's change exactly when its outcome says it was made.
        let store = try ReplicaDirectory(path: directory).openStore(logger: Logger(label: "test"))
        let appointments = try store.read { try $0.rows("SELECT special_requests, id, status FROM appointments") }
        let clients = try store.read { try $0.rows("SELECT name FROM clients") }.compactMap { $0[0].textValue }
        let sales = try store.read { try $0.rows("SELECT id, lines FROM sales") }
        let payments = try store.read { try $0.rows("SELECT sale_id, amount_minor FROM payments") }
        var checkouts = 0
        for request in all {
            guard let outcome = request.outcome else { continue }
            switch request.kind {
            case .booking:
                let made = appointments.filter { $0[0].textValue == request.key }
                #expect(made.count == (outcome.status == 201 ? 1 : 0), "\(request.key): answered \(outcome.status) \(outcome.body.prefix(160)), and the box holds \(made.count) appointment(s) of it")
                if outcome.status == 201 { #expect(made.first?[1].textValue == json(outcome.body)["id"] as? String) }
            case .client:
                let made = clients.filter { $0 == request.key }.count
                #expect(made == (outcome.status == 201 ? 1 : 0), "\(request.key): answered \(outcome.status), and the box holds \(made) client(s) of it")
            case .checkout(let appointment):
                // The sale and its payment are wholly recorded, or not at all.
                let made = sales.filter { ($0[1].textValue ?? "").contains("\"\(request.key)\"") }
                #expect(made.count == (outcome.status == 201 ? 1 : 0), "\(request.key): checkout of \(appointment) answered \(outcome.status) \(outcome.body.prefix(160)), and the box holds \(made.count) sale(s) of it")
                if let sale = made.first?[0].textValue {
                    #expect(payments.filter { $0[0].textValue == sale }.map { $0[1].integerValue } == [5000], "\(request.key): the sale's payments")
                    #expect(sale == json(outcome.body)["id"] as? String)
                    checkouts += 1
                }
            case .cancel(let appointment):
                #expect(outcome.status == 200, "\(request.key): cancelling \(appointment) was answered \(outcome.status) \(outcome.body.prefix(160))")
                #expect(appointments.first { $0[1].textValue == appointment }?[2].textValue == "cancelled")
            }
        }
        #expect(checkouts > 0, "no checkout was made: the test proved nothing about payments")
        #expect(all.contains { $0.kind.isCheckout && $0.first == nil }, "no checkout was in flight when the box was killed")
    }
}

extension IdempotencyCrashTests.Sent.Kind {
    var isCheckout: Bool { if case .checkout = self { true } else { false } }
    var isBooking: Bool { if case .booking = self { true } else { false } }
}

