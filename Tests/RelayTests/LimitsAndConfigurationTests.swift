import Foundation
import Testing
@testable import Relay
@testable import Replication
import TestSupport

@Suite("Relay limits, notifications and configuration")
struct LimitsAndConfigurationTests {
    @Test("a token bucket allows its burst, then refuses with the seconds to wait, then refills")
    func tokenBucket() {
        let limiter = RateLimiter(burst: 2, perSecond: 0.5)
        #expect(limiter.take("a", now: 0) == nil)
        #expect(limiter.take("a", now: 0) == nil)
        #expect(limiter.take("a", now: 0) == 2)
        #expect(limiter.take("b", now: 0) == nil)
        #expect(limiter.take("a", now: 2000) == nil)
        #expect(limiter.take("a", now: 2000) == 2)
    }

    @Test("a business gets its slots and queue; beyond that it is refused while another business runs")
    func businessLimiter() async throws {
        let limiter = BusinessLimiter(concurrency: 1, queue: 1)
        let a = TestBusiness().id, b = TestBusiness().id
        let gate = AsyncStream<Void>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await limiter.run(a) { var iterator = gate.stream.makeAsyncIterator(); _ = await iterator.next() }
            }
            try await eventually("one request of a runs", every: .milliseconds(10)) { limiter.load(of: a).running == 1 }
            group.addTask { try await limiter.run(a) {} }
            try await eventually("one request of a waits", every: .milliseconds(10)) { limiter.load(of: a).waiting == 1 }
            await #expect(throws: RelayError(.businessBusy, "this business has too many requests in progress; retry shortly", retryAfter: 1)) {
                try await limiter.run(a) {}
            }
            // Another business is not held up.
            #expect(try await limiter.run(b) { 42 } == 42)
            gate.continuation.finish()
            try await group.waitForAll()
        }
        #expect(limiter.load(of: a).running == 0)
        #expect(limiter.load(of: a).waiting == 0)
        limiter.shutdown()
        await #expect(throws: RelayError(.shuttingDown, "the relay is shutting down")) { try await limiter.run(b) {} }
    }

    @Test("a wait ends on a notification for its business, not for another, and at once after shutdown")
    func notifier() async throws {
        let notifier = ChangeNotifier()
        let a = TestBusiness().id, b = TestBusiness().id
        let generation = notifier.generation(of: a)
        async let woken: Void = notifier.wait(for: a, after: generation, timeout: .seconds(30))
        try await eventually("the wait is parked", every: .milliseconds(5)) { notifier.waiting(for: a) == 1 }
        notifier.notify(b)
        notifier.notify(a)
        await woken
        #expect(notifier.generation(of: a) == generation + 1)
        // Already notified since the generation was read: no wait at all.
        await notifier.wait(for: a, after: generation, timeout: .seconds(30))
        notifier.shutdown()
        await notifier.wait(for: b, after: notifier.generation(of: b), timeout: .seconds(30))
    }

    @Test("storage locations: SQLite paths and PostgreSQL URLs, TCP or Unix socket; anything else is refused")
    func storageLocations() throws {
        #expect(try StorageLocation.parse("sqlite:/var/lib/r/relay.sqlite") == .sqlite(path: "/var/lib/r/relay.sqlite"))
        #expect(try StorageLocation.parse("postgres://relay@db.internal:6543/relay") == .postgres(url: "postgres://relay@db.internal:6543/relay"))
        #expect(StorageLocation.postgres(url: "postgres://relay:secret@db/relay").description == "postgres://relay:***@db/relay")
        for bad in ["", "sqlite:", "mysql://x", "/tmp/x.sqlite", "postgres://"] {
            #expect(throws: (any Error).self, "\(bad)") { try StorageLocation.parse(bad) }
        }
        let tcp = try PostgresRelayStorage.configuration(url: "postgres://relay:pw@db.internal:6543/relaydb")
        #expect(tcp.host == "db.internal")
        #expect(tcp.port == 6543)
        #expect(tcp.username == "relay")
        #expect(tcp.password == "pw")
        #expect(tcp.database == "relaydb")
        let socket = try PostgresRelayStorage.configuration(url: "postgres://postgres@localhost:5433/t?host=/tmp/pg")
        #expect(socket.unixSocketPath == "/tmp/pg/.s.PGSQL.5433")
        #expect(socket.database == "t")
    }

    @Test("configuration: defaults, then the environment, then flags")
    func configuration() throws {
        let defaults = try RelayConfiguration.load(environment: [:])
        #expect(defaults.port == 8480)
        #expect(defaults.effectiveStorage == .sqlite(path: "/var/lib/edgenode-relay/relay.sqlite"))
        let environment = ["EDGENODE_RELAY_STORAGE": "postgres://relay@db/relay", "EDGENODE_RELAY_PORT": "9000", "EDGENODE_RELAY_DATA_DIR": "/srv/relay"]
        let fromEnvironment = try RelayConfiguration.load(environment: environment)
        #expect(fromEnvironment.effectiveStorage == .postgres(url: "postgres://relay@db/relay"))
        #expect(fromEnvironment.port == 9000)
        let fromFlags = try RelayConfiguration.load(environment: environment, flags: ["storage": "sqlite:/tmp/r.sqlite", "port": "0"])
        #expect(fromFlags.effectiveStorage == .sqlite(path: "/tmp/r.sqlite"))
        #expect(fromFlags.port == 0)
        #expect(try RelayConfiguration.load(environment: ["EDGENODE_RELAY_DATA_DIR": "/srv/relay"]).effectiveStorage == .sqlite(path: "/srv/relay/relay.sqlite"))
        #expect(throws: RelayConfigurationError.self) { try RelayConfiguration.load(environment: ["EDGENODE_RELAY_PORT": "70000"]) }
        #expect(throws: RelayConfigurationError.self) { try RelayConfiguration.load(environment: [:], flags: ["log_level": "loud"]) }
        #expect(throws: RelayConfigurationError.self) { try RelayConfiguration.load(environment: [:], flags: ["storage": "ftp://x"]) }
        #expect(try RelayConfiguration.load(environment: ["EDGENODE_RELAY_METRICS": "true"]).metrics)
        #expect(try !RelayConfiguration.load(environment: [:]).metrics)
        #expect(throws: RelayConfigurationError.self) { try RelayConfiguration.load(environment: ["EDGENODE_RELAY_METRICS": "yes please"]) }
    }
}
