import Foundation
import Relay
import SystemdNotify
import Testing
import TestSupport

/// `waitUntilListening()`: what tests and benchmarks await instead of polling a port.
@Suite("Listening port")
struct ListeningPortTests {
    @Test("waiters get the port once it listens, later callers at once; after a stop before listening, NotListening")
    func waiters() async throws {
        let port = ListeningPort()
        #expect(port.port == 0)
        async let first = port.waitUntilListening()
        async let second = port.waitUntilListening()
        port.listening(on: 8470)
        #expect(try await first == 8470)
        #expect(try await second == 8470)
        #expect(try await port.waitUntilListening() == 8470)
        port.stopped("later")   // after it listened: nothing changes
        #expect(port.port == 8470)

        let never = ListeningPort()
        let waiting = Task { try await never.waitUntilListening() }
        never.stopped("the port was taken")
        await #expect(throws: NotListening.self) { try await waiting.value }
        await #expect(throws: NotListening.self) { try await never.waitUntilListening() }
    }

    @Test("a cancelled waiter ends with CancellationError and leaves the others waiting")
    func cancellation() async throws {
        let port = ListeningPort()
        let cancelled = Task { try await port.waitUntilListening() }
        let kept = Task { try await port.waitUntilListening() }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        port.listening(on: 1)
        #expect(try await kept.value == 1)
    }

    @Test("a relay whose port is taken: run() fails and waitUntilListening() says so instead of waiting for ever")
    func relayPortTaken() async throws {
        try await live(.sqlite) { relay in
            var configuration = RelayConfiguration()
            configuration.bind = "127.0.0.1"
            configuration.port = relay.client().port
            let storage = try SQLiteRelayStorage(path: temporaryDirectory() + "/relay.sqlite", logger: quietLogger)
            let second = RelayRuntime(core: RelayCore(storage: storage, logger: quietLogger), configuration: configuration, logger: quietLogger)
            let running = Task { try await second.run(handleSignals: false) }
            await #expect(throws: NotListening.self) { _ = try await withTimeout(.seconds(60), "the second relay failing") { try await second.waitUntilListening() } }
            _ = await running.result
        }
    }
}
