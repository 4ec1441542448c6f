import Domain
import Foundation
import Prometheus
import Replication
import Testing
import TestSupport
@testable import EdgeNodeApp
@testable import MessagingProviders
@testable import OutboundHTTP

/// Client messages from running boxes (issue 17) against the fake providers on loopback, with a
/// clock the test moves: confirmation once; a move reschedules the reminder (sent once, at the new
/// time); a cancellation stops it; an outage of 30 hours; a provider that accepted and timed out;
/// a box killed mid-send; three boxes, one message; the Telegram link and a review reply.
@Suite("Client messages from running boxes", .serialized)
struct MessagingNodeTests {
    static func data(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object) }
    static func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

    /// A provisioned box in Almaty with a stylist, a 45-minute cut and one client, whose messages
    /// this box sends; `configure` points `messaging.*` at the fakes.
    final class Box: @unchecked Sendable {
        let root: String
        let directory: ReplicaDirectory
        let clock: TestClock
        var runtime: EdgeNodeRuntime!
        var server: Task<Void, any Error>?
        var client: ConsoleClient!
        var branch: BranchID!
        var staff: StaffID!
        var cut: OfferingID!
        var token = ""
        let configure: @Sendable (inout NodeConfiguration) -> Void

        init(root: String, clock: TestClock, configure: @escaping @Sendable (inout NodeConfiguration) -> Void) throws {
            self.root = root
            self.clock = clock
            self.configure = configure
            directory = ReplicaDirectory(path: root + "/box")
            let result = try Provisioning(branchName: "Almaty Beauty", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
                .run(in: directory, physicalClock: clock.physical, logger: PeerSyncTests.logger)
            branch = result.branchID
        }

        var configuration: NodeConfiguration {
            var configuration = NodeConfiguration.loopback(directory)
            configuration.shutdownGraceSeconds = 1
            configure(&configuration)
            return configuration
        }

        func start(seed: Bool = true) async throws {
            try open(seed: seed)
            try await serve(seed: seed)
        }

        /// Opens the replica (and seeds it) without serving.
        func open(seed: Bool) throws {
            runtime = try EdgeNodeRuntime(configuration: configuration, logger: PeerSyncTests.logger, registry: PrometheusCollectorRegistry(), physicalClock: clock.physical)
            if seed {
                let shop = runtime.shop
                staff = StaffID.generate(at: clock.now)
                try shop.save(StaffMember(id: staff, branchID: branch, name: "Dana", schedule: .every(Weekday.allCases, [WallInterval("00:00", "24:00")!])))
                cut = OfferingID.generate(at: clock.now)
                try shop.save(Offering(id: cut, branchID: branch, names: ["ru": "Стрижка", "en": "Cut"], durationMinutes: 45,
                                       price: Money(amountMinor: 1_200_000, currency: "KZT")))
                try shop.assign(StaffOffering(staffID: staff, offeringID: cut))
                try shop.save(try shop.branch(branch).with { $0.openingHours = .every(Weekday.allCases, [WallInterval("08:00", "22:00")!]) })
                token = try shop.registerDevice(name: "desk", role: .owner, pairedBy: "test").token
                _ = try shop.takeMessaging(branch: branch, takeOver: false, actor: "test")
            }
        }

        func serve(seed: Bool) async throws {
            let runtime = self.runtime!
            server = Task { try await runtime.run() }
            let port = try await withTimeout(.seconds(60), "the box starting to listen") { try await runtime.waitUntilListening() }
            client = ConsoleClient(host: "127.0.0.1", port: port, token: token)
        }

        /// Stops serving and closes the replica (as a box that is switched off).
        func stop() async {
            server?.cancel()
            _ = await server?.result
            server = nil
            runtime = nil
        }

        @discardableResult
        func send(_ method: String, _ path: String, _ body: [String: Any]? = nil, expect: Int? = nil) async throws -> [String: Any] {
            let payload = body.map(MessagingNodeTests.data)
            let client = self.client!
            let (status, text) = try await offPool { try client.request(method, path, body: payload) }
            if let expect { #expect(status == expect, "\(method) \(path): \(text)") }
            return MessagingNodeTests.json(text)
        }

        /// One pass of the box's dispatcher (plan, send what is due), as the service does when woken.
        func runMessages() async throws { _ = try await runtime.dispatcher.current!.runOnce() }

        func newClient(_ name: String, phone: String, email: String = "") async throws -> String {
            var body: [String: Any] = ["name": name, "phone": phone]
            if !email.isEmpty { body["email"] = email }
            return try await send("POST", "/v1/clients", body, expect: 201)["id"] as? String ?? ""
        }

        func book(_ client: String, _ start: String) async throws -> String {
            try await send("POST", "/v1/appointments", ["client": client, "services": [["service": cut.rawValue, "staff": staff.rawValue]], "start": start],
                           expect: 201)["id"] as? String ?? ""
        }

        func messages(_ appointment: String) async throws -> [[String: Any]] {
            try await send("GET", "/v1/appointments/\(appointment)/messages", expect: 200)["items"] as? [[String: Any]] ?? []
        }
    }

    static func root(_ name: String) throws -> String {
        let root = NSTemporaryDirectory() + "edgenode-\(name)-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    static func telegramConfiguration(_ fake: FakeMessagingProvider, root: String, timeout: Int = 10) throws -> @Sendable (inout NodeConfiguration) -> Void {
        try (fake.credentials["token"]! + "\n").write(toFile: root + "/telegram-token", atomically: true, encoding: .utf8)
        let url = fake.baseURL
        return { configuration in
            configuration.messaging.telegram.tokenFile = root + "/telegram-token"
            configuration.messaging.telegram.apiURL = url
            configuration.messaging.timeoutSeconds = timeout
        }
    }

    /// Links `client`'s chat the way a client does: the link's payload arrives as `/start` through getUpdates.
    static func linkTelegram(_ box: Box, _ fake: FakeMessagingProvider, client: String, chat: Int64) async throws {
        let link = try await box.send("POST", "/v1/clients/\(client)/telegram-link", expect: 201)
        let payload = link["payload"] as? String ?? ""
        #expect((link["url"] as? String) == "https://t.me/almaty_beauty_bot?start=\(payload)")
        _ = try await fake.queueUpdate(chatID: chat, firstName: "Айгерим", text: "/start \(payload)")
        try await eventually("the chat linked through /start", timeout: .seconds(60)) {
            (try await box.send("GET", "/v1/clients/\(client)/messaging")["telegram"] as? [String: Any])?["linked"] as? Bool == true
        }
    }

    static func texts(_ fake: FakeMessagingProvider, to recipient: String) async throws -> [String] {
        try await fake.messages().filter { $0.recipient == recipient }.map(\.text)
    }

    @Test("Telegram: linked by /start; a booking is confirmed once; a move after the reminders were planned sends the change and the 24-hour reminder at the new time, once; a cancellation sends no reminder; a review reply is recorded on the visit")
    func telegramDay() async throws {
        let fake = try await FakeMessagingProvider.start(.telegram)
        defer { fake.stop() }
        let root = try Self.root("messaging-telegram")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = TestClock("2026-12-07T03:00:00Z")   // 08:00 in Almaty
        let box = try Box(root: root, clock: clock, configure: try Self.telegramConfiguration(fake, root: root))
        try await box.start()
        defer { Task { await box.stop() } }
        _ = try await box.send("PUT", "/v1/messaging/settings", ["telegram_bot": "almaty_beauty_bot"], expect: 200)
        let client = try await box.newClient("Айгерим Сейткали", phone: "+77011234567")
        try await Self.linkTelegram(box, fake, client: client, chat: 4242)
        try await eventually("the bot answers the link", timeout: .seconds(30)) { try await Self.texts(fake, to: "4242").count == 1 }

        let visit = try await box.book(client, "2026-12-08T14:00:00+05:00")
        try await eventually("the confirmation", timeout: .seconds(30)) { try await Self.texts(fake, to: "4242").count == 2 }
        #expect(try await Self.texts(fake, to: "4242")[1].contains("8 декабря в 14:00 (Asia/Almaty)"))
        _ = try await box.send("PATCH", "/v1/appointments/\(visit)", ["start": "2026-12-09T15:00:00+05:00"], expect: 200)
        try await eventually("the change", timeout: .seconds(30)) { try await Self.texts(fake, to: "4242").count == 3 }
        #expect(try await Self.texts(fake, to: "4242")[2].contains("9 декабря в 15:00"))

        // The 24-hour reminder of the new time, once.
        clock.set(Instant(iso8601: "2026-12-08T10:01:00Z")!)
        try await box.runMessages()
        // The box's own service may be sending it at the same moment: wait for it, then make sure a further pass adds nothing.
        try await eventually("the 24-hour reminder", timeout: .seconds(30)) { try await Self.texts(fake, to: "4242").count >= 4 }
        try await box.runMessages()
        var texts = try await Self.texts(fake, to: "4242")
        #expect(texts.count == 4 && texts[3].contains("через 24 часа"), "\(texts)")
        let reminders = try await box.messages(visit).filter { $0["kind"] as? String == "reminder" }
        #expect(reminders.filter { $0["state"] as? String == "skipped" }.map { $0["reason"] as? String } == ["appointment_moved", "appointment_moved"])

        // Cancelled: the client is told; the 2-hour reminder never goes.
        _ = try await box.send("POST", "/v1/appointments/\(visit)/cancel", ["by": "shop", "reason": "ill"], expect: 200)
        try await eventually("the cancellation", timeout: .seconds(30)) { try await Self.texts(fake, to: "4242").count == 5 }
        clock.set(Instant(iso8601: "2026-12-09T08:01:00Z")!)
        try await box.runMessages()
        texts = try await Self.texts(fake, to: "4242")
        #expect(texts.count == 5 && texts[4].contains("отменена"))
        #expect(try await box.messages(visit).contains { $0["kind"] as? String == "reminder" && $0["reason"] as? String == "appointment_cancelled" })

        // A completed visit, a review request (with marketing consent on Telegram), a rating by reply.
        _ = try await box.send("POST", "/v1/clients/\(client)/consents", ["channel": "telegram", "purpose": "marketing", "granted": true, "source": "in_person"],
                               expect: 201)
        let second = try await box.book(client, "2026-12-09T16:00:00+05:00")
        _ = try await box.send("POST", "/v1/appointments/\(second)/check-in", [:], expect: 200)
        _ = try await box.send("POST", "/v1/appointments/\(second)/complete", [:], expect: 200)
        clock.set(Instant(iso8601: "2026-12-09T12:46:00Z")!)   // 16:45 + 61 minutes
        try await box.runMessages()
        try await eventually("the review request", timeout: .seconds(30)) {
            try await Self.texts(fake, to: "4242").contains { $0.contains("оценкой от 1 до 5") }
        }
        _ = try await fake.queueUpdate(chatID: 4242, firstName: "Айгерим", text: "5 Очень понравилось")
        try await eventually("the review recorded on the visit", timeout: .seconds(60)) {
            (try await box.send("GET", "/v1/appointments/\(second)/reviews")["items"] as? [[String: Any]])?.first?["rating"] as? Int == 5
        }
        await box.stop()
    }

    @Test("an outage of 30 hours across the reminders: the one whose visit is still far enough ahead goes once on return, the one too close is expired")
    func outage() async throws {
        let fake = try await FakeMessagingProvider.start(.mobizon)
        defer { fake.stop() }
        let root = try Self.root("messaging-outage")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try (fake.credentials["api_key"]! + "\n").write(toFile: root + "/mobizon-key", atomically: true, encoding: .utf8)
        let url = fake.baseURL
        let clock = TestClock("2026-12-07T03:00:00Z")
        let box = try Box(root: root, clock: clock) { configuration in
            configuration.messaging.sms.provider = "mobizon"
            configuration.messaging.sms.sender = "SALON"
            configuration.messaging.mobizon.apiKeyFile = root + "/mobizon-key"
            configuration.messaging.mobizon.apiURL = url
        }
        try await box.start()
        let client = try await box.newClient("Dana Omarova", phone: "+77017654321")
        let far = try await box.book(client, "2026-12-09T10:00:00+05:00")      // 05:00Z on the 9th
        let near = try await box.book(client, "2026-12-08T14:15:00+05:00")     // 09:15Z on the 8th
        try await eventually("two confirmations", timeout: .seconds(30)) { try await fake.messages().count == 2 }
        await box.stop()

        // The box is off for 30 hours: back at 09:00Z on the 8th.
        clock.set(Instant(iso8601: "2026-12-08T09:00:00Z")!)
        try await box.start(seed: false)
        try await box.runMessages()
        try await eventually("the reminder still worth sending", timeout: .seconds(30)) { try await fake.messages().count >= 3 }
        try await box.runMessages()
        let texts = try await fake.messages().map(\.text)
        #expect(texts.count == 3, "\(texts)")
        #expect(texts.last?.contains("через 20 часов") == true, "\(texts)")
        try await eventually("the box records the reminder as sent", timeout: .seconds(30)) {
            try await box.messages(far).contains { $0["kind"] as? String == "reminder" && $0["state"] as? String == "sent" }
        }
        let farReminders = try await box.messages(far).filter { $0["kind"] as? String == "reminder" }
        #expect(farReminders.map { $0["state"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == ["scheduled", "sent"])
        let nearReminders = try await box.messages(near).filter { $0["kind"] as? String == "reminder" }
        #expect(nearReminders.map { $0["state"] as? String } == ["expired", "expired"])
        #expect(nearReminders.allSatisfy { $0["reason"] as? String == "too_late" })
        await box.stop()
    }

    @Test("a provider that accepted a message and then timed out gets no second message; the outbox says the outcome is unknown and a person may resend")
    func acceptedThenTimedOut() async throws {
        let fake = try await FakeMessagingProvider.start(.telegram)
        defer { fake.stop() }
        let root = try Self.root("messaging-timeout")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = TestClock("2026-12-07T03:00:00Z")
        let box = try Box(root: root, clock: clock, configure: try Self.telegramConfiguration(fake, root: root, timeout: 2))
        try await box.start()
        _ = try await box.send("PUT", "/v1/messaging/settings", ["telegram_bot": "almaty_beauty_bot"], expect: 200)
        let client = try await box.newClient("Айгерим", phone: "+77011234567")
        try await Self.linkTelegram(box, fake, client: client, chat: 77)
        try await fake.acceptThenHang(count: 1, recipient: "77")
        let visit = try await box.book(client, "2026-12-08T14:00:00+05:00")
        try await eventually("the confirmation's outcome unknown", timeout: .seconds(180)) {
            try await box.messages(visit).first { $0["kind"] as? String == "confirmation" }?["state"] as? String == "failed"
        }
        let confirmation = try await box.messages(visit).first { $0["kind"] as? String == "confirmation" }!
        #expect((confirmation["reason"] as? String)?.hasPrefix("outcome_unknown") == true)
        try await box.runMessages()
        #expect(try await fake.messages().filter { $0.recipient == "77" && $0.text.contains("14:00") }.count == 1)
        // A person decides to send it again.
        _ = try await box.send("POST", "/v1/messages/\(confirmation["id"] as? String ?? "")/resend", expect: 201)
        try await eventually("the resent confirmation", timeout: .seconds(30)) {
            try await fake.messages().filter { $0.recipient == "77" && $0.text.contains("14:00") }.count == 2
        }
        await box.stop()
    }

    @Test("the sending box killed mid-send and started again sends no duplicate (the real process, SIGKILL)")
    func killedMidSend() async throws {
        let fake = try await FakeMessagingProvider.start(.telegram)
        defer { fake.stop() }
        let root = try Self.root("messaging-kill")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Provision and seed in process, with the real clock, then serve with the real binary.
        let clock = TestClock(Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)))
        let configure = try Self.telegramConfiguration(fake, root: root)
        let seeded = try Box(root: root, clock: clock, configure: configure)
        try seeded.open(seed: true)
        let client = try seeded.runtime.shop.createClient(ClientDraft(name: "Айгерим", phone: "+77011234567"), branch: seeded.branch).id.rawValue
        try seeded.runtime.shop.linkTelegramChat(client: ClientID(client)!, chat: "9001")
        let (token, staff, cut) = (seeded.token, seeded.staff!, seeded.cut!)
        seeded.runtime = nil   // closes the replica (it never served), so the real process can open it

        func serve() async throws -> (ChildProcess, ConsoleClient) {
            var environment = ChildProcess.cleanEnvironment
            environment["EDGENODE_DISCOVERY_ENABLED"] = "false"
            environment["EDGENODE_SYNC_LAN"] = "false"
            environment["EDGENODE_MESSAGING_TELEGRAM_TOKEN_FILE"] = root + "/telegram-token"
            environment["EDGENODE_MESSAGING_TELEGRAM_API_URL"] = fake.baseURL
            let process = try ChildProcess(name: "box", program: Binaries.edgenode,
                                           arguments: ["serve", "--data-dir", root + "/box", "--bind", "127.0.0.1", "--port", "0", "--log-level", "info"],
                                           environment: environment)
            guard let port = try await process.waitForLog(#"listening on http://127\.0\.0\.1:(\d+)"#).flatMap({ Int($0) }) else {
                throw TimeoutError(what: "the box starting: \(process.tail)")
            }
            return (process, ConsoleClient(host: "127.0.0.1", port: port, token: token))
        }
        let (process, console) = try await serve()
        try await fake.hold(count: 1)
        // Noon in Almaty two days from now: open, and far enough ahead for a confirmation and reminders.
        let start = Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 48 * 3_600_000)
        let startText = start.iso8601(offsetSeconds: 5 * 3600)
        let (status, body) = try await offPool {
            try console.request("POST", "/v1/appointments", body: Self.data(["client": client, "services": [["service": cut.rawValue, "staff": staff.rawValue]],
                                                                              "start": String(startText.prefix(11)) + "12:00:00+05:00"]))
        }
        #expect(status == 201, "\(body)")
        let visit = Self.json(body)["id"] as? String ?? ""
        try await eventually("the confirmation held at the provider", timeout: .seconds(30)) { try await fake.stats().held == 1 }
        let killed = process
        try await offPool { killed.kill() }
        try await fake.release()
        try await eventually("the provider took the held message", timeout: .seconds(30)) { try await fake.messages().count == 1 }
        let (restarted, reader) = try await serve()
        defer { Thread { restarted.kill() }.start() }
        try await eventually("the restarted box records the outcome as unknown", timeout: .seconds(60)) {
            let (_, text) = try await offPool { try reader.request("GET", "/v1/appointments/\(visit)/messages", body: nil) }
            let items = Self.json(text)["items"] as? [[String: Any]] ?? []
            return items.first { $0["kind"] as? String == "confirmation" }?["reason"] as? String == "outcome_unknown: the box stopped while sending"
        }
        #expect(try await fake.messages().count == 1)
        try await offPool { restarted.kill() }
    }

    @Test("two boxes of one branch and a box of another branch that booked the appointment, all online and syncing: one message in all")
    func threeBoxesOneMessage() async throws {
        let fake = try await FakeMessagingProvider.start(.telegram)
        defer { fake.stop() }
        let fixture = TestFixture(clock: TestClock("2026-12-07T03:00:00Z"), prefix: "edgenode-messaging-three")
        let branch = BranchID.generate(at: fixture.clock.now)
        let other = BranchID.generate(at: fixture.clock.now.adding(milliseconds: 1))
        let a = try fixture.makeShop(home: branch), b = try fixture.makeShop(home: branch), c = try fixture.makeShop(home: other)
        try a.save(Branch(id: branch, name: "Centre", timeZone: "Asia/Almaty", currency: "KZT", locale: "ru", region: "KZ",
                          openingHours: .every(Weekday.allCases, [WallInterval("08:00", "22:00")!]), policy: BookingPolicy(minimumNoticeMinutes: 0)))
        let staff = StaffID.generate(at: fixture.clock.now)
        try a.save(StaffMember(id: staff, branchID: branch, name: "Dana", schedule: .every(Weekday.allCases, [WallInterval("00:00", "24:00")!])))
        let cut = OfferingID.generate(at: fixture.clock.now)
        try a.save(Offering(id: cut, branchID: branch, names: ["ru": "Стрижка"], durationMinutes: 45, price: Money(amountMinor: 100, currency: "KZT")))
        try a.assign(StaffOffering(staffID: staff, offeringID: cut))
        let client = try a.createClient(ClientDraft(name: "Айгерим", phone: "+77011234567"), branch: branch)
        try a.linkTelegramChat(client: client.id, chat: "31337")
        _ = try a.takeMessaging(branch: branch, takeOver: false, actor: "owner")
        let shops = [a, b, c]
        func syncAll() throws { for _ in 0..<2 { for x in shops { for y in shops where x !== y { _ = try y.apply(try x.store.changesets(missingFrom: y.store.versionVector, limit: .max).map(\.bytes)) } } } }
        try syncAll()
        let http = HTTPClientOutbound(logger: testLogger)
        let dispatchers = shops.map { shop in
            MessageDispatcher(shop: shop, transports: [.telegram: TelegramBot(settings: TelegramSettings(apiBaseURL: fake.baseURL, token: fake.credentials["token"]!),
                                                                               http: http, logger: testLogger)],
                              perSecond: [.telegram: 25], logger: testLogger)
        }
        // Booked on the other branch's box (a request to the home branch), confirmed by a box of the branch.
        let booking = try c.book(BookingRequest(branchID: branch, parts: [VisitPart(offeringID: cut, staffID: staff)],
                                                start: Instant(iso8601: "2026-12-08T09:00:00Z")!, clientID: client.id))
        try syncAll()
        if try b.appointment(booking.appointment.id).status == .requested { try b.confirm(booking.appointment.id, actor: "b") }
        for _ in 0..<3 {
            try syncAll()
            for dispatcher in dispatchers { try await dispatcher.runOnce() }
        }
        fixture.clock.set(Instant(iso8601: "2026-12-07T09:01:00Z")!)
        for _ in 0..<3 {
            try syncAll()
            for dispatcher in dispatchers { try await dispatcher.runOnce() }
        }
        let texts = try await Self.texts(fake, to: "31337")
        #expect(texts.filter { $0.contains("вы записаны") }.count == 1, "\(texts)")
        #expect(texts.filter { $0.contains("через 24 часа") }.count == 1, "\(texts)")
        #expect(texts.count == 2, "\(texts)")
        try await http.shutdown()
    }
}

extension Branch {
    func with(_ change: (inout Branch) -> Void) -> Branch {
        var copy = self
        change(&copy)
        return copy
    }
}

/// Delivery reports reaching the outbox: WhatsApp's signed status webhook (out of order), Twilio's
/// polled statuses; and the channels' pace.
@Suite("Client message delivery and pace", .serialized)
struct MessagingDeliveryTests {
    @Test("WhatsApp: a template message goes by the approved template in the client's language; its signed statuses arrive read before delivered and the message ends read; an unsigned webhook is refused and changes nothing")
    func whatsappStatuses() async throws {
        let fake = try await FakeMessagingProvider.start(.whatsapp)
        defer { fake.stop() }
        let root = try MessagingNodeTests.root("messaging-whatsapp")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try (fake.credentials["access_token"]! + "\n").write(toFile: root + "/wa-token", atomically: true, encoding: .utf8)
        try (fake.credentials["app_secret"]! + "\n").write(toFile: root + "/wa-secret", atomically: true, encoding: .utf8)
        let (url, phone) = (fake.baseURL, fake.credentials["phone_number_id"]!)
        let box = try MessagingNodeTests.Box(root: root, clock: TestClock("2026-12-07T03:00:00Z")) { configuration in
            configuration.messaging.whatsapp.phoneNumberID = phone
            configuration.messaging.whatsapp.tokenFile = root + "/wa-token"
            configuration.messaging.whatsapp.appSecretFile = root + "/wa-secret"
            configuration.messaging.whatsapp.apiURL = url
        }
        try await box.start()
        let client = try await box.newClient("Dana Omarova", phone: "+77017654321")
        let visit = try await box.book(client, "2026-12-08T14:00:00+05:00")
        try await eventually("the confirmation at WhatsApp", timeout: .seconds(30)) { try await fake.messages().count == 1 }
        let sent = try await fake.messages()[0]
        #expect(sent.template == "edgenode_confirmation" && sent.language == "ru" && sent.recipient.hasSuffix("77017654321"))
        #expect(sent.parameters.first == "Dana" && sent.parameters.contains("Almaty Beauty"))
        func confirmation() async throws -> [String: Any]? { try await box.messages(visit).first { $0["kind"] as? String == "confirmation" } }
        try await eventually("sent recorded", timeout: .seconds(30)) { try await confirmation()?["state"] as? String == "sent" }
        let hook = "http://127.0.0.1:\(box.runtime.port)/hooks/whatsapp"
        let forged = try await fake.webhook(url: hook, appSecret: "not the app secret", statuses: [(sent.providerID, "read", nil)])
        #expect(forged.status == 401)
        #expect(try await confirmation()?["state"] as? String == "sent")
        let read = try await fake.webhook(url: hook, statuses: [(sent.providerID, "read", nil)])
        let delivered = try await fake.webhook(url: hook, statuses: [(sent.providerID, "delivered", nil)])
        #expect(read.status == 200 && delivered.status == 200)
        let message = try await confirmation()!
        #expect(message["state"] as? String == "read")
        #expect((message["events"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["sending", "sent", "read", "delivered"])
        await box.stop()
    }

    @Test("Twilio: the box asks for the statuses of what it sent and records delivered and undelivered (with Twilio's error)")
    func twilioPolled() async throws {
        let fake = try await FakeMessagingProvider.start(.twilio)
        defer { fake.stop() }
        let root = try MessagingNodeTests.root("messaging-twilio")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try (fake.credentials["auth_token"]! + "\n").write(toFile: root + "/twilio-token", atomically: true, encoding: .utf8)
        let (url, sid) = (fake.baseURL, fake.credentials["account_sid"]!)
        let box = try MessagingNodeTests.Box(root: root, clock: TestClock("2026-12-07T03:00:00Z")) { configuration in
            configuration.messaging.sms.provider = "twilio"
            configuration.messaging.sms.sender = "SALON"
            configuration.messaging.twilio.accountSID = sid
            configuration.messaging.twilio.authTokenFile = root + "/twilio-token"
            configuration.messaging.twilio.apiURL = url
        }
        try await box.start()
        let first = try await box.book(try await box.newClient("Amy Clark", phone: "+447700900123"), "2026-12-08T14:00:00+05:00")
        let second = try await box.book(try await box.newClient("Ben Hall", phone: "+447700900456"), "2026-12-08T15:00:00+05:00")
        try await eventually("two SMS at Twilio", timeout: .seconds(30)) { try await fake.messages().count == 2 }
        let atTwilio = try await fake.messages()
        let amy = try #require(atTwilio.first { $0.recipient.hasSuffix("447700900123") }).providerID
        let ben = try #require(atTwilio.first { $0.recipient.hasSuffix("447700900456") }).providerID
        @Sendable func confirmation(_ visit: String) async throws -> [String: Any]? {
            try await box.messages(visit).first { $0["kind"] as? String == "confirmation" }
        }
        // The box records a batch's answers together: wait until both are recorded as sent.
        try await eventually("both recorded as sent", timeout: .seconds(30)) {
            let (a, b) = (try await confirmation(first)?["state"] as? String, try await confirmation(second)?["state"] as? String)
            return a == "sent" && b == "sent"
        }
        #expect(try await confirmation(first)?["provider_id"] as? String == amy)
        #expect(try await confirmation(second)?["provider_id"] as? String == ben)
        try await fake.setStatus(id: amy, status: "delivered")
        try await fake.setStatus(id: ben, status: "undelivered", errorCode: 30003, errorMessage: "Unreachable destination handset")
        // What the box's service does every minute, done now (again if a poll met a busy fake).
        let dispatcher = try #require(box.runtime.dispatcher.current)
        try await eventually("delivered and undelivered recorded", timeout: .seconds(60)) {
            await dispatcher.pollStatuses()
            let (a, b) = (try await confirmation(first)?["state"] as? String, try await confirmation(second)?["state"] as? String)
            return a == "delivered" && b == "failed"
        }
        #expect((try await confirmation(second)?["reason"] as? String)?.contains("30003") == true)
        await box.stop()
    }

    @Test("the pace: at most `per_second` messages a second on a channel, and one a second to one Telegram chat")
    func rateLimits() {
        let limiter = MessageRateLimiter(perSecond: [.sms: 3, .telegram: 30])
        #expect((0..<3).map { _ in limiter.reserve(.sms, recipient: "+1") } == [.zero, .zero, .zero])
        #expect(limiter.reserve(.sms, recipient: "+2") > .zero)
        #expect(limiter.reserve(.telegram, recipient: "7") == .zero)
        let again = limiter.reserve(.telegram, recipient: "7")
        #expect(again > .milliseconds(900) && again <= .seconds(1))
        #expect(limiter.reserve(.telegram, recipient: "8") == .zero)
    }
}
