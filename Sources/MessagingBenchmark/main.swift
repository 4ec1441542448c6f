// edgenode-messaging-bench: the reminders of a busy day (issue 17, docs/benchmarks.md).
//
//   swift build -c release --product edgenode-messaging-bench
//   .build/release/edgenode-messaging-bench --runs 3 --bookings 300
//
// A branch in Asia/Almaty on a fixed clock (2026-12-07T02:00:00Z, 07:00 there), 80 staff with one
// 30-minute service, open 08:00–22:00; 2,000 clients, each with a linked Telegram chat of its own;
// this box sends the branch's messages; only the 24-hour reminder is on. 2,000 appointments
// (seeded, spread over the staff's slots) are booked for the next day, then the clock moves to
// 22:00 that evening, when every reminder is due.
//
// 1. One pass of the box's dispatcher (`runOnce`: plan the 2,000 subjects, send the 2,000
//    reminders, 8 in flight) through the real `TelegramBot` adapter to the fake Telegram
//    (`Tests/python/fake_telegram.py`) on loopback, against 2,000 bare `sendMessage` requests of
//    the same size to the same fake through the same `HTTPClientOutbound`, 8 in flight;
//    alternating, `--runs` times, each run a new day. Then one pass at the default 25/s.
// 2. A running box (HTTP on loopback, the messaging service on, the fake Telegram configured):
//    the p99 of `POST /v1/appointments` one at a time on the idle box, then while it sends the
//    2,000 reminders.
import Domain
import EdgeNodeApp
import Foundation
import Logging
import MessagingProviders
import OutboundHTTP
import Prometheus
import Replication
import Synchronization
import TestSupport

struct Options {
    var appointments = 2_000
    var runs = 3
    var bookings = 300
    /// Telegram messages per second for the timed passes: high enough never to bind.
    var rate = 100_000
    var defaultRate = true
    /// Plan first (timed on its own), then the pass: where the time goes.
    var split = false
    var staffCount = 80

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--appointments": appointments = Int(iterator.next() ?? "") ?? appointments
            case "--runs": runs = max(1, Int(iterator.next() ?? "") ?? runs)
            case "--bookings": bookings = max(10, Int(iterator.next() ?? "") ?? bookings)
            case "--rate": rate = max(1, Int(iterator.next() ?? "") ?? rate)
            case "--no-default-rate": defaultRate = false
            case "--split": split = true
            default:
                FileHandle.standardError.write(Data("usage: edgenode-messaging-bench [--appointments N] [--runs N] [--bookings N] [--rate N] [--no-default-rate] [--split]\n".utf8))
                exit(2)
            }
        }
        // 28 half-hour slots a day per staff member.
        staffCount = max(staffCount, (appointments + 27) / 28 + 1)
    }
}

struct Failure: Error, CustomStringConvertible { let description: String }

final class Flag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var value: Bool { state.withLock { $0 } }
}

let options = Options(arguments: CommandLine.arguments)
let logger: Logger = {
    var logger = Logger(label: "messaging-bench")
    logger.logLevel = .error
    return logger
}()

func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[max(0, min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}
func f(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }

/// Day `offset` after 2026-12-07 as "2026-12-DD" (December only: the runs stay in it).
func day(_ offset: Int) -> String { String(format: "2026-12-%02d", 7 + offset) }

/// A box of its own: provisioned, its catalogue, clients and messaging settings seeded.
final class Bench: @unchecked Sendable {
    let root: String
    let clock: TestClock
    let runtime: EdgeNodeRuntime
    let branch: BranchID
    var staff: [StaffID] = []
    var service: OfferingID!
    var clients: [ClientID] = []
    var token = ""
    var shop: Shop { runtime.shop }

    init(name: String, fake: FakeMessagingProvider, clock: TestClock, rate: Int) throws {
        root = NSTemporaryDirectory() + "edgenode-messaging-bench-\(name)-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.clock = clock
        let directory = ReplicaDirectory(path: root + "/box")
        branch = try Provisioning(branchName: "Almaty Beauty", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", locale: "ru-KZ", ownerName: "Owner")
            .run(in: directory, physicalClock: clock.physical, logger: logger).branchID
        try (fake.credentials["token"]! + "\n").write(toFile: root + "/telegram-token", atomically: true, encoding: .utf8)
        var configuration = NodeConfiguration()
        configuration.dataDirectory = directory.path
        configuration.http.bind = "127.0.0.1"
        configuration.http.port = 0
        configuration.discovery.enabled = false
        configuration.sync.lan = false
        configuration.shutdownGraceSeconds = 1
        configuration.messaging.telegram.tokenFile = root + "/telegram-token"
        configuration.messaging.telegram.apiURL = fake.baseURL
        // Set here, past the configuration's 1...30 check: the benchmark measures the box's own cost.
        configuration.messaging.telegram.perSecond = rate
        runtime = try EdgeNodeRuntime(configuration: configuration, logger: logger, registry: PrometheusCollectorRegistry(), physicalClock: clock.physical)
    }

    /// The catalogue, the clients with their chats, this box as the sender, only the 24-hour reminder on.
    func seed(clientCount: Int, staffCount: Int) throws {
        try shop.save(try shop.branch(branch).with { $0.openingHours = .every(Weekday.allCases, [WallInterval("08:00", "22:00")!]) })
        service = OfferingID.generate(at: clock.now)
        try shop.save(Offering(id: service, branchID: branch, names: ["ru": "Стрижка", "en": "Cut"], durationMinutes: 30,
                               price: Money(amountMinor: 800_000, currency: "KZT")))
        for index in 0..<staffCount {
            let id = StaffID.generate(at: clock.now)
            try shop.save(StaffMember(id: id, branchID: branch, name: "Мастер \(index + 1)", schedule: .every(Weekday.allCases, [WallInterval("08:00", "22:00")!])))
            try shop.assign(StaffOffering(staffID: id, offeringID: service))
            staff.append(id)
        }
        token = try shop.registerDevice(name: "desk", role: .owner, pairedBy: "bench").token
        _ = try shop.takeMessaging(branch: branch, takeOver: false, actor: "bench")
        var settings = try shop.messagingSettings()
        settings.kindsOff = Set(MessageKind.allCases.filter { $0 != .reminder })
        settings.reminderOffsetsMinutes = [1440]
        settings.telegramBot = "almaty_beauty_bot"
        _ = try shop.saveMessagingSettings(settings)
        for index in 0..<clientCount {
            let client = try shop.createClient(ClientDraft(name: "Клиент \(index + 1)", phone: "+7701" + String(format: "%07d", index + 1)), branch: branch)
            try shop.linkTelegramChat(client: client.id, chat: String(700_000_000 + index))
            clients.append(client.id)
        }
    }

    /// Every half-hour start of `date` (local) for every staff member, in a seeded order.
    func slots(_ date: String, seed: UInt64) -> [(staff: StaffID, start: String)] {
        var all: [(staff: StaffID, start: String)] = []
        for member in staff {
            for slot in 0..<28 {
                all.append((member, String(format: "%@T%02d:%02d:00+05:00", date, 8 + slot / 2, slot % 2 * 30)))
            }
        }
        var generator = SeededGenerator(seed: seed)
        all.shuffle(using: &generator)
        return all
    }

    /// `count` appointments on `date`, client i at a seeded slot (in process, as the front desk would).
    func bookDay(_ date: String, count: Int, seed: UInt64) throws {
        let slots = slots(date, seed: seed)
        guard slots.count >= count else { throw Failure(description: "\(count) appointments do not fit in \(slots.count) slots") }
        for index in 0..<count {
            _ = try shop.book(BookingRequest(branchID: branch, parts: [VisitPart(offeringID: service, staffID: slots[index].staff)],
                                             start: Instant(iso8601: slots[index].start)!, clientID: clients[index % clients.count]))
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

extension Branch {
    func with(_ change: (inout Branch) -> Void) -> Branch {
        var copy = self
        change(&copy)
        return copy
    }
}

/// Checks the fake got exactly `count` messages, each to a different chat.
func checkDelivered(_ fake: FakeMessagingProvider, _ count: Int, _ what: String) async throws -> String {
    let messages = try await fake.messages()
    let chats = Set(messages.map(\.recipient))
    guard messages.count == count, chats.count == count else {
        throw Failure(description: "\(what): the fake got \(messages.count) messages for \(chats.count) chats, expected \(count)")
    }
    return messages[0].text
}

/// `count` bare `sendMessage` calls to the fake, `concurrency` in flight, each its own chat.
func bareRequests(_ http: HTTPClientOutbound, fake: FakeMessagingProvider, count: Int, text: String, concurrency: Int = 8) async throws {
    let token = fake.credentials["token"]!
    try await withThrowingTaskGroup(of: Void.self) { group in
        var running = 0
        for index in 0..<count {
            if running >= concurrency { try await group.next(); running -= 1 }
            group.addTask {
                let body = try JSONSerialization.data(withJSONObject: ["chat_id": 700_000_000 + index, "text": text])
                let response = try await http.send(OutboundRequest(method: "POST", host: "127.0.0.1", port: fake.apiPort, path: "/bot\(token)/sendMessage",
                                                                   headers: [("Content-Type", "application/json")], body: Array(body), timeout: .seconds(10)))
                guard response.status == 200 else { throw Failure(description: "bare sendMessage answered \(response.status)") }
            }
            running += 1
        }
        try await group.waitForAll()
    }
}

// MARK: 1. The reminders of a busy day against bare requests

let fake = try await FakeMessagingProvider.start(.telegram)
defer { fake.stop() }
let http = HTTPClientOutbound(logger: logger)
let clock = TestClock("2026-12-07T02:00:00Z")
say("edgenode-messaging-bench: \(options.appointments) appointments, \(options.staffCount) staff, runs \(options.runs), rate \(options.rate)/s (timed passes), bookings \(options.bookings)")
let setupStart = ContinuousClock.now
let bench = try Bench(name: "send", fake: fake, clock: clock, rate: options.rate)
try bench.seed(clientCount: options.appointments, staffCount: options.staffCount)
say("seeded \(options.appointments) clients with Telegram chats in \(f(seconds(ContinuousClock.now - setupStart), 1)) s")

/// One timed pass: book day `offset`'s appointments (untimed), move to 22:00 the evening before, time one `runOnce`.
func reminderPass(offset: Int, perSecond: Int) async throws -> (Double, String) {
    try await fake.reset()
    // Booked at 07:00 the day before: a reminder is planned only when it falls due after the booking.
    clock.set(Instant(iso8601: day(offset - 1) + "T02:00:00Z")!)
    let booking = ContinuousClock.now
    try bench.bookDay(day(offset), count: options.appointments, seed: 17 + UInt64(offset))
    let booked = seconds(ContinuousClock.now - booking)
    clock.set(Instant(iso8601: day(offset - 1) + "T17:00:00Z")!)
    if options.split {
        let planning = ContinuousClock.now
        while try await bench.shop.messaging.planQueued(channels: [.telegram], limit: 200) > 0 {}
        say("  (--split: planning alone \(f(seconds(ContinuousClock.now - planning))) s; the pass below then only sends)")
    }
    let start = ContinuousClock.now
    try await bench.runtime.sendDueMessages(outbound: http, perSecond: [.telegram: perSecond])
    let elapsed = seconds(ContinuousClock.now - start)
    let unsent = try await bench.shop.messaging.messages(state: MessageState.allCases.filter { $0 != .sent }, limit: 10_000)
    if !unsent.isEmpty {
        let reasons = Dictionary(grouping: unsent) { "\($0.state.rawValue) \($0.reason)" }.map { "\($0.value.count) × \($0.key)" }
        say("  not sent after the pass: " + reasons.sorted().joined(separator: "; "))
    }
    let text = try await checkDelivered(fake, options.appointments, "reminders of \(day(offset))")
    say("  (booked \(day(offset)) in \(f(booked, 1)) s)")
    return (elapsed, text)
}

// A warm-up of the bare path (connections, the fake's threads), not timed.
try await bareRequests(http, fake: fake, count: 200, text: "warm-up")
var reminderTimes: [Double] = []
var bareTimes: [Double] = []
var ratios: [Double] = []
var sampleText = ""
for run in 1...options.runs {
    let (reminders, text) = try await reminderPass(offset: run, perSecond: options.rate)
    sampleText = text
    try await fake.reset()
    let start = ContinuousClock.now
    try await bareRequests(http, fake: fake, count: options.appointments, text: text)
    let bare = seconds(ContinuousClock.now - start)
    _ = try await checkDelivered(fake, options.appointments, "bare requests")
    reminderTimes.append(reminders)
    bareTimes.append(bare)
    ratios.append(reminders / bare)
    say("run \(run): reminders \(f(reminders)) s (\(Int(Double(options.appointments) / reminders))/s), bare \(f(bare)) s (\(Int(Double(options.appointments) / bare))/s), ratio \(f(reminders / bare, 2))×")
}
say("reminder text (\(sampleText.utf8.count) bytes): \(sampleText)")
var defaultRateTime: Double?
if options.defaultRate {
    let (elapsed, _) = try await reminderPass(offset: options.runs + 1, perSecond: 25)
    defaultRateTime = elapsed
    say("at the default 25/s: \(f(elapsed, 1)) s (\(f(Double(options.appointments) / elapsed, 1))/s)")
}
try await fake.reset()

// MARK: 2. Bookings through the API, idle and while sending

/// A running box of its own (02:00Z: nothing due yet), its own fake so the counts stay apart.
let apiFake = try await FakeMessagingProvider.start(.telegram)
defer { apiFake.stop() }
let apiClock = TestClock("2026-12-07T02:00:00Z")
let box = try Bench(name: "api", fake: apiFake, clock: apiClock, rate: options.rate)
try box.seed(clientCount: options.appointments, staffCount: options.staffCount)
try box.bookDay(day(1), count: options.appointments, seed: 17)
let runtime = box.runtime
let server = Task { try await runtime.run() }
let port = try await withTimeout(.seconds(60), "the box starting to listen") { try await runtime.waitUntilListening() }
let console = ConsoleClient(host: "127.0.0.1", port: port, token: box.token)
try await eventually("the box planning the day's reminders", timeout: .seconds(300)) { try await box.shop.messaging.queuedSubjects() == 0 }

/// Books the next free slot of `slots`; its latency in milliseconds.
func bookOne(_ slot: (staff: StaffID, start: String), client: ClientID) async throws -> Double {
    let body = try JSONSerialization.data(withJSONObject: ["client": client.rawValue, "services": [["service": box.service.rawValue, "staff": slot.staff.rawValue]],
                                                           "start": slot.start])
    let start = ContinuousClock.now
    let (status, text) = try await offPool { try console.request("POST", "/v1/appointments", body: body) }
    let elapsed = seconds(ContinuousClock.now - start) * 1000
    guard status == 201 else { throw Failure(description: "POST /v1/appointments answered \(status): \(text)") }
    return elapsed
}

let idleSlots = box.slots(day(3), seed: 3)
let busySlots = box.slots(day(4), seed: 4)
// Warm-up (connections, caches) on a day of its own, not measured.
for (index, slot) in box.slots(day(5), seed: 5).prefix(30).enumerated() { _ = try await bookOne(slot, client: box.clients[index]) }
var idle: [Double] = []
for (index, slot) in idleSlots.prefix(options.bookings).enumerated() { idle.append(try await bookOne(slot, client: box.clients[index % box.clients.count])) }
let sentBefore = try await apiFake.stats().requests
guard try await apiFake.messages().isEmpty else { throw Failure(description: "the idle box sent messages") }

// Every reminder is due; the next booking's commit wakes the messaging service, which sends them all.
apiClock.set(Instant(iso8601: day(0) + "T17:00:00Z")!)
let sendStart = ContinuousClock.now
let finished = Flag()
let sending = Task { () -> Double in
    defer { finished.set() }
    let deadline = ContinuousClock.now + .seconds(600)
    while try await apiFake.stats().requests - sentBefore < options.appointments {
        guard ContinuousClock.now < deadline else { throw Failure(description: "the running box did not send the reminders within 10 minutes") }
        try await Task.sleep(for: .milliseconds(50))
    }
    return seconds(ContinuousClock.now - sendStart)
}
var busy: [Double] = []
var next = 0
// One at a time for as long as the box sends (and at least a tenth of `--bookings`).
while next < busySlots.count && (busy.count < options.bookings / 10 || !finished.value) {
    busy.append(try await bookOne(busySlots[next], client: box.clients[next % box.clients.count]))
    next += 1
}
let sendTime = try await sending.value
try await eventually("the fake holding every reminder", timeout: .seconds(60)) { try await apiFake.messages().count >= options.appointments }
_ = try await checkDelivered(apiFake, options.appointments, "reminders from the running box")
server.cancel()
_ = await server.result

// MARK: Summary

let reminderMedian = median(reminderTimes), bareMedian = median(bareTimes), ratioMedian = median(ratios)
let idleP99 = percentile(idle, 0.99), busyP99 = percentile(busy, 0.99)
say("")
say("== reminders of a busy day (\(options.appointments) appointments, one runOnce, 8 in flight, telegram.per_second = \(options.rate)) ==")
say("reminders (plan + send): median \(f(reminderMedian)) s (\(Int(Double(options.appointments) / reminderMedian))/s), runs \(reminderTimes.map { f($0) }.joined(separator: ", "))")
say("bare sendMessage:        median \(f(bareMedian)) s (\(Int(Double(options.appointments) / bareMedian))/s), runs \(bareTimes.map { f($0) }.joined(separator: ", "))")
say("ratio: median \(f(ratioMedian, 2))× (\(f(ratios.min()!, 2))–\(f(ratios.max()!, 2))), goal ≤ 1.5×: \(ratioMedian <= 1.5 ? "met" : "NOT met")")
if let defaultRateTime { say("at the default telegram.per_second = 25: \(f(defaultRateTime, 1)) s (\(f(Double(options.appointments) / defaultRateTime, 1))/s)") }
say("")
say("== POST /v1/appointments, one at a time, on a running box ==")
say("idle: \(idle.count) bookings, median \(f(median(idle), 2)) ms, p99 \(f(idleP99, 2)) ms")
say("while sending \(options.appointments) reminders (\(f(sendTime, 2)) s from the clock move): \(busy.count) bookings, median \(f(median(busy), 2)) ms, p99 \(f(busyP99, 2)) ms")
say("p99 ratio busy / idle: \(f(busyP99 / idleP99, 2))×, goal ≤ 1.2×: \(busyP99 / idleP99 <= 1.2 ? "met" : "NOT met")")
try await http.shutdown()
bench.remove()
box.remove()
