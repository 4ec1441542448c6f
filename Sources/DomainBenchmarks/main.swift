// edgenode-domain-bench: availability latency with a large calendar.
//
// Builds a branch with 20 staff and N appointments spread over past and future days (written in
// large transactions through the replica store, bypassing the booking checks so setup is quick),
// then times `Shop.availability` for one day, any staff, many times; and the same query on a
// replica with the same catalogue and no appointments as the in-process baseline.
//
//   swift build -c release --product edgenode-domain-bench
//   .build/release/edgenode-domain-bench --appointments 100000 --queries 500
//   .build/release/edgenode-domain-bench --z-report 100000     (issue 16: a Z report against a plain SQL sum)
//   .build/release/edgenode-domain-bench --retail [options]    (issue 18: stock levels and redemptions, RetailBenchmark.swift)
//   .build/release/edgenode-domain-bench --reports 300000      (issue 19: owner reports over a year against a plain SQL sum)
import Domain
import Foundation
import Logging
import Replication

struct Options {
    var appointments = 100_000
    var queries = 500
    var directory = NSTemporaryDirectory()
    /// `--z-report N`: the Z report benchmark instead (ZReportBenchmark.swift).
    var zReportSales: Int?
    /// `--retail …`: the retail benchmarks instead (RetailBenchmark.swift), with the arguments after it.
    var retailArguments: [String]?
    /// `--reports N`: the owner reports benchmark instead (ReportsBenchmark.swift).
    var reportsCount: Int?

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--appointments": appointments = Int(iterator.next() ?? "") ?? appointments
            case "--queries": queries = Int(iterator.next() ?? "") ?? queries
            case "--dir": directory = iterator.next() ?? directory
            case "--z-report": zReportSales = Int(iterator.next() ?? "") ?? 100_000
            case "--retail": retailArguments = Array(IteratorSequence(iterator)); return
            case "--reports": reportsCount = Int(iterator.next() ?? "") ?? 300_000
            default:
                FileHandle.standardError.write(Data("usage: edgenode-domain-bench [--appointments N] [--queries N] [--dir PATH] | --z-report N | --retail [--help] | --reports N\n".utf8))
                exit(2)
            }
        }
    }
}

let options = Options(arguments: CommandLine.arguments)
let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()
let now = Instant(iso8601: "2024-05-06T00:00:00Z")!
let owner = SigningKey.generate()
let root = options.directory + "/edgenode-domain-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: root) }

func makeShop(_ name: String, branch: BranchID) throws -> Shop {
    let key = SigningKey.generate()
    var configuration = ReplicaConfiguration(path: root + "/\(name).sqlite")
    configuration.physicalClock = PhysicalClock { UInt64(now.milliseconds) }
    let certificate = try Certificate.issue(by: owner, for: key.publicKey, role: "box", branch: branch.rawValue, notBefore: 0, notAfter: Int64.max / 2)
    let store = try ReplicaStore(configuration: configuration, identity: key, ownerKey: owner.publicKey, certificate: certificate, logger: logger)
    return try Shop(store: store, logger: logger)
}

/// The catalogue: 20 staff working 09:00–18:00 with a lunch break, 3 offerings everyone performs.
func setUpCatalogue(_ shop: Shop, branch: BranchID) throws -> (staff: [StaffID], offerings: [OfferingID]) {
    let week = WeeklyHours.every(Weekday.allCases, [WallInterval("09:00", "18:00")!])
    try shop.save(Branch(id: branch, name: "Bench", timeZone: "Asia/Almaty", currency: "KZT", region: "KZ", openingHours: week,
                         policy: BookingPolicy(minimumNoticeMinutes: 0, horizonDays: 400)))
    var staff: [StaffID] = []
    for index in 0..<20 {
        let id = StaffID.generate(at: Instant(milliseconds: 1_700_000_000_000 + Int64(index)))
        try shop.save(StaffMember(id: id, branchID: branch, name: "Staff \(index)", schedule: week,
                                  breaks: .every(Weekday.allCases, [WallInterval("13:00", "14:00")!])))
        staff.append(id)
    }
    var offerings: [OfferingID] = []
    for (index, minutes) in [45, 60, 90].enumerated() {
        let id = OfferingID.generate(at: Instant(milliseconds: 1_700_000_001_000 + Int64(index)))
        try shop.save(Offering(id: id, branchID: branch, names: ["en": "Service \(minutes)"], durationMinutes: minutes,
                               price: Money(amountMinor: 500_000, currency: "KZT"), bufferAfterMinutes: 5))
        for member in staff { try shop.assign(StaffOffering(staffID: member, offeringID: id)) }
        offerings.append(id)
    }
    return (staff, offerings)
}

/// Four one-hour appointments per staff member per day (09:00, 10:30, 14:00, 16:00 local), days around `now`.
func fill(_ shop: Shop, staff: [StaffID], offering: OfferingID, count: Int) throws {
    let zone = try ZoneRules.named("Asia/Almaty")
    let perDay = staff.count * 4
    let days = (count + perDay - 1) / perDay
    let firstDay = zone.localDate(of: now).adding(days: -days / 2)
    var written = 0
    var batch: [(String, Instant, StaffID)] = []
    outer: for dayIndex in 0..<days {
        let day = firstDay.adding(days: dayIndex)
        for member in staff {
            for minutes in [540, 630, 840, 960] {
                if written == count { break outer }
                batch.append((UUIDv7.generate(), zone.resolve(day, minutes: minutes).instant, member))
                written += 1
            }
        }
    }
    for chunk in stride(from: 0, to: batch.count, by: 5_000) {
        try shop.store.write { transaction in
            for (id, start, member) in batch[chunk..<min(chunk + 5_000, batch.count)] {
                let end = start.adding(minutes: 60)
                let items = "[{\"bufferAfterMinutes\":5,\"bufferBeforeMinutes\":0,\"capacity\":1,\"end\":{\"milliseconds\":\(end.milliseconds)},\"offeringID\":\"\(offering.rawValue)\",\"priceMinor\":500000,\"resources\":[],\"staffID\":\"\(member.rawValue)\",\"start\":{\"milliseconds\":\(start.milliseconds)}}]"
                try transaction.insert("appointments", [
                    "id": .text(id), "branch_id": .text(shop.homeBranch!.rawValue), "items": .text(items),
                    "starts_at": .integer(start.milliseconds), "ends_at": .integer(end.milliseconds), "status": .text("confirmed"),
                    "guest_name": .text("Bench"), "price_minor": .integer(500_000), "currency": .text("KZT"),
                ])
            }
        }
    }
}

func measure(_ shop: Shop, branch: BranchID, offering: OfferingID, day: LocalDate, queries: Int) throws -> (median: Double, p99: Double, slots: Int) {
    var samples: [Double] = []
    var slots = 0
    for _ in 0..<20 { slots = try shop.availability(branch: branch, offering: offering, date: day).count } // warm-up
    for _ in 0..<queries {
        let start = DispatchTime.now().uptimeNanoseconds
        slots = try shop.availability(branch: branch, offering: offering, date: day).count
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    samples.sort()
    return (samples[samples.count / 2], samples[min(samples.count - 1, Int(Double(samples.count) * 0.99))], slots)
}

if let count = options.reportsCount {
    try await reportsBenchmark(count: count, makeShop: { try makeShop($0, branch: $1) })
    exit(0)
}

if let sales = options.zReportSales {
    try await zReportBenchmark(sales: sales, makeShop: { try makeShop($0, branch: $1) }, now: now)
    exit(0)
}

if let arguments = options.retailArguments {
    try await retailBenchmark(arguments: arguments, makeShop: { try makeShop($0, branch: $1) }, now: now)
    try? FileManager.default.removeItem(atPath: root)  // exit skips the defer above
    exit(0)
}

let branch = BranchID.generate(at: now)
let empty = try makeShop("baseline", branch: branch)
let emptyCatalogue = try setUpCatalogue(empty, branch: branch)
let full = try makeShop("full", branch: branch)
let catalogue = try setUpCatalogue(full, branch: branch)
let fillStart = Date()
try fill(full, staff: catalogue.staff, offering: catalogue.offerings[1], count: options.appointments)
let fillSeconds = Date().timeIntervalSince(fillStart)
let day = try ZoneRules.named("Asia/Almaty").localDate(of: now).adding(days: 1)
let baseline = try measure(empty, branch: branch, offering: emptyCatalogue.offerings[1], day: day, queries: options.queries)
let loaded = try measure(full, branch: branch, offering: catalogue.offerings[1], day: day, queries: options.queries)
let booked = try full.appointments(branch: branch, date: day).count

print("availability, one day, any of 20 staff, 60-minute service (\(options.queries) queries each)")
print(String(format: "  empty calendar:            median %.3f ms  p99 %.3f ms  (%d slots)", baseline.median, baseline.p99, baseline.slots))
print(String(format: "  %6d appointments:       median %.3f ms  p99 %.3f ms  (%d slots, %d booked that day)", options.appointments, loaded.median, loaded.p99, loaded.slots, booked))
print(String(format: "  ratio loaded/empty:        median %.2f×  p99 %.2f×", loaded.median / baseline.median, loaded.p99 / baseline.p99))
print(String(format: "  goal p99 ≤ 2 ms:           %@", loaded.p99 <= 2 ? "met" : "NOT met"))
print(String(format: "  setup: %d appointments written in %.1f s", options.appointments, fillSeconds))
