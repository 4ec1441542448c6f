import Domain
import Logging
import Synchronization

/// The demo shop's messages (`edgenode serve --demo` with no provider configured): SMS and
/// email "sent" to the box's own log, so the outbox, the per-appointment history and the
/// templates can be tried without any provider. Nothing leaves the machine. A number ending in
/// `00` is refused the way an SMS gateway refuses a landline, so the outbox has a failure to show.
final class DemoMessageTransport: MessageTransport {
    let channel: MessageChannel
    let provider = "demo"
    let canReportStatus = false
    let logger: Logger
    private let counter = Atomic<Int>(0)

    init(channel: MessageChannel, logger: Logger) {
        self.channel = channel
        self.logger = logger
    }

    func send(_ message: OutgoingMessage) async throws(MessageSendError) -> SentMessage {
        if channel == .sms, message.recipient.hasSuffix("00") {
            throw .rejected(reason: "the number does not take SMS (demo)", unlink: false)
        }
        let number = counter.add(1, ordering: .relaxed).newValue
        logger.info("demo message", metadata: ["message": "\(message.messageID)", "channel": "\(channel.rawValue)", "length": "\(message.text.count)"])
        return SentMessage(providerID: "demo-\(number)", status: .delivered)
    }

    func statuses(of providerIDs: [String]) async throws(MessageSendError) -> [DeliveryUpdate] { [] }
}
