import Domain
import Foundation
import Testing
import TestSupport
@testable import EdgeNodeApp
@testable import OutboundHTTP

/// `EdgeNodeRuntime.sendDueMessages`, the hook `edgenode-messaging-bench` drives: one pass of the
/// dispatcher on a node that is not running, over the node's configured transports.
@Suite("One pass of client messages on a node that is not running")
struct SendDueMessagesTests {
    @Test("a node that is not running plans the queued booking and sends its due confirmation through the configured Telegram bot, once")
    func notRunning() async throws {
        let fake = try await FakeMessagingProvider.start(.telegram)
        defer { fake.stop() }
        let root = try MessagingNodeTests.root("messaging-send-due")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = TestClock("2026-12-07T03:00:00Z")
        let box = try MessagingNodeTests.Box(root: root, clock: clock, configure: try MessagingNodeTests.telegramConfiguration(fake, root: root))
        try box.open(seed: true)
        let shop = box.runtime.shop
        let client = try shop.createClient(ClientDraft(name: "Айгерим", phone: "+77011234567"), branch: box.branch)
        try shop.linkTelegramChat(client: client.id, chat: "5151")
        _ = try shop.book(BookingRequest(branchID: box.branch, parts: [VisitPart(offeringID: box.cut, staffID: box.staff)],
                                         start: Instant(iso8601: "2026-12-08T09:00:00Z")!, clientID: client.id))
        let http = HTTPClientOutbound(logger: testLogger)
        try await box.runtime.sendDueMessages(outbound: http)
        try await box.runtime.sendDueMessages(outbound: http)
        let messages = try await fake.messages()
        #expect(messages.map(\.recipient) == ["5151"], "\(messages)")
        #expect(messages.first?.text.contains("8 декабря в 14:00") == true, "\(messages)")
        try await http.shutdown()
        box.runtime = nil
    }
}
