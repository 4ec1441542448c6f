import Domain
import Foundation
import Logging
@testable import MessagingProviders
import OutboundHTTP
import Testing
import TestSupport

@Suite struct WhatsAppTests {
    static func cloud(_ harness: ProviderHarness, accessToken: String? = nil, timeoutSeconds: Int = 15) -> WhatsAppCloud {
        WhatsAppCloud(settings: WhatsAppCloudSettings(apiBaseURL: harness.fake.baseURL, phoneNumberID: harness.fake.credentials["phone_number_id"]!,
                                                      accessToken: accessToken ?? harness.fake.credentials["access_token"]!,
                                                      appSecret: harness.fake.credentials["app_secret"]!, timeoutSeconds: timeoutSeconds),
                      http: harness.http, logger: harness.logger)
    }

    static let reminder = WhatsAppTemplateCall(name: "appointment_reminder", languageCode: "ru", parameters: ["Айгерим", "завтра в 15:00", "Центр"])

    @Test func aTemplateMessageLandsWithItsNameLanguageAndParameters() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            let sent = try await Self.cloud(harness).send(outgoing("+77011234567", .whatsapp, template: Self.reminder))
            let messages = try await harness.fake.messages()
            #expect(messages.count == 1)
            #expect(messages.first?.recipient == "77011234567")
            #expect(messages.first?.template == "appointment_reminder")
            #expect(messages.first?.language == "ru")
            #expect(messages.first?.parameters == ["Айгерим", "завтра в 15:00", "Центр"])
            #expect(sent == SentMessage(providerID: messages[0].providerID, status: .accepted))
            #expect(sent.providerID.hasPrefix("wamid."))
        }
    }

    /// Free text outside the 24-hour window would be refused (or silently dropped) by Meta; the box
    /// never knows the window, so a message without an approved template is not sent at all.
    @Test func aMessageWithoutATemplateIsRejectedBeforeAnythingIsSent() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            let error = await sendError { try await Self.cloud(harness).send(outgoing("+77011234567", .whatsapp)) }
            #expect(error == .rejected(reason: "no approved template", unlink: false))
            #expect(try await harness.fake.messages().isEmpty)
            #expect(try await harness.fake.stats().requests == 0)
        }
    }

    @Test(arguments: [(429, 2 as Int?), (503, nil)])
    func rateLimitsAndUnavailableAreRetryable(status: Int, retryAfter: Int?) async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: status, retryAfter: retryAfter)
            let error = await sendError { try await Self.cloud(harness).send(outgoing("+77011234567", .whatsapp, template: Self.reminder)) }
            #expect(error?.isRetryable == true)
            #expect(error?.retryAfter == retryAfter)
            #expect(try await harness.fake.messages().isEmpty)
        }
    }

    /// Graph answers its throughput limit (130429) as a 400: still "not now".
    @Test func aRateLimitCodeInA400IsRetryable() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: 400, description: "(#130429) Rate limit hit", code: 130429)
            let error = await sendError { try await Self.cloud(harness).send(outgoing("+77011234567", .whatsapp, template: Self.reminder)) }
            #expect(error?.isRetryable == true)
        }
    }

    @Test func aServerErrorAndAnAnswerThatNeverCameAreUnknownOutcomes() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: 500)
            let failed = await sendError { try await Self.cloud(harness).send(outgoing("+77011234567", .whatsapp, template: Self.reminder)) }
            #expect(failed?.isOutcomeUnknown == true)
            try await harness.fake.acceptThenHang()
            let hung = await sendError { try await Self.cloud(harness, timeoutSeconds: 2).send(outgoing("+77011234567", .whatsapp, template: Self.reminder)) }
            #expect(hung?.isOutcomeUnknown == true)
            #expect(try await harness.fake.messages().count == 1)
        }
    }

    /// 131026: the number has no WhatsApp (or cannot get this message) → forget it for WhatsApp;
    /// a template Meta does not know is refused without unlinking.
    @Test(arguments: [(131026, "Message undeliverable", true), (132001, "Template name does not exist in the translation", false)])
    func refusalsAreRejected(code: Int, description: String, unlink: Bool) async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: 400, description: description, code: code)
            let error = await sendError { try await Self.cloud(harness).send(outgoing("+77011234567", .whatsapp, template: Self.reminder)) }
            #expect(error?.rejectedUnlink == unlink)
            #expect(error?.reason.contains("\(code)") == true)
        }
    }

    @Test func aWrongAccessTokenIsRejected() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            let error = await sendError { try await Self.cloud(harness, accessToken: "EAAwrong").send(outgoing("+77011234567", .whatsapp, template: Self.reminder)) }
            #expect(error?.rejectedUnlink == false)
            #expect(error?.reason.contains("190") == true)
        }
    }

    /// The fake signs with Python's hmac; the adapter checks with libsodium.
    @Test func theWebhookSignatureIsVerified() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            let secret = harness.fake.credentials["app_secret"]!
            let hook = try await harness.fake.webhook(url: nil, statuses: [(id: "wamid.X1", status: "delivered", errorCode: nil)])
            let body = Array(hook.body.utf8)
            #expect(WhatsAppCloud.verifySignature(body: body, header: hook.signature, appSecret: secret))
            #expect(WhatsAppCloud.verifySignature(body: body, header: hook.signature.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), appSecret: secret))
            var tampered = body
            tampered[tampered.count / 2] ^= 0x01
            #expect(!WhatsAppCloud.verifySignature(body: tampered, header: hook.signature, appSecret: secret))
            #expect(!WhatsAppCloud.verifySignature(body: body + [0x20], header: hook.signature, appSecret: secret))
            #expect(!WhatsAppCloud.verifySignature(body: body, header: hook.signature, appSecret: secret + "x"))
            #expect(!WhatsAppCloud.verifySignature(body: body, header: nil, appSecret: secret))
            #expect(!WhatsAppCloud.verifySignature(body: body, header: "", appSecret: secret))
            #expect(!WhatsAppCloud.verifySignature(body: body, header: String(hook.signature.dropFirst(7)), appSecret: secret))
            #expect(!WhatsAppCloud.verifySignature(body: body, header: String(hook.signature.dropLast(2)), appSecret: secret))
            #expect(!WhatsAppCloud.verifySignature(body: body, header: hook.signature, appSecret: ""))
        }
    }

    /// The fake POSTs a real status webhook; what arrives verifies and parses, in the order sent
    /// (read before delivered: statuses may come out of order).
    @Test func aStatusWebhookArrivesSignedAndParses() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            let secret = harness.fake.credentials["app_secret"]!
            let sent = try await Self.cloud(harness).send(outgoing("+77011234567", .whatsapp, template: Self.reminder))
            let receiver = try WebhookReceiver()
            defer { receiver.stop() }
            let hook = try await harness.fake.webhook(url: receiver.url, statuses: [
                (id: sent.providerID, status: "read", errorCode: nil), (id: sent.providerID, status: "delivered", errorCode: nil),
                (id: "wamid.other", status: "failed", errorCode: 131026), (id: "wamid.other", status: "deleted", errorCode: nil),
            ])
            #expect(hook.status == 200)
            let request = try #require(receiver.requests.first)
            #expect(WhatsAppCloud.verifySignature(body: request.body, header: request.headers["x-hub-signature-256"], appSecret: secret))
            let updates = try WhatsAppCloud.deliveryUpdates(webhookBody: request.body)
            #expect(updates.map(\.providerID) == [sent.providerID, sent.providerID, "wamid.other"])
            #expect(updates.map(\.status) == [.read, .delivered, .failed])
            #expect(updates[0].reason.isEmpty && updates[2].reason.hasPrefix("131026 "))
            #expect(updates.allSatisfy { ($0.at?.milliseconds ?? 0) > 0 })
        }
    }

    @Test func aWebhookBodyThatIsNotTheCloudAPIsThrows() throws {
        #expect(throws: WhatsAppWebhookError.self) { try WhatsAppCloud.deliveryUpdates(webhookBody: Array("not json".utf8)) }
        #expect(throws: WhatsAppWebhookError.self) { try WhatsAppCloud.deliveryUpdates(webhookBody: Array("{\"object\":\"x\"}".utf8)) }
        // An incoming message (no statuses) is no delivery update.
        let incoming = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"wamid.in","text":{"body":"hi"}}]}}]}]}"#
        #expect(try WhatsAppCloud.deliveryUpdates(webhookBody: Array(incoming.utf8)).isEmpty)
    }

    @Test func neitherTheTokenNorTheSecretNorTheParametersAreLogged() async throws {
        try await withFake(.whatsapp) { (harness: ProviderHarness) async throws in
            let token = harness.fake.credentials["access_token"]!, secret = harness.fake.credentials["app_secret"]!
            let cloud = Self.cloud(harness)
            _ = try await cloud.send(outgoing("+77011234567", .whatsapp, template: Self.reminder))
            try await harness.fake.fail(status: 400, description: "Message undeliverable", code: 131026)
            let refused = await sendError { try await cloud.send(outgoing("+77011234567", .whatsapp, template: Self.reminder)) }
            let logs = harness.logText
            #expect(harness.logs.recorded.count >= 2)
            for hidden in [token, secret, "Айгерим", "завтра в 15:00"] {
                #expect(!logs.contains(hidden))
                #expect(refused.map { !$0.reason.contains(hidden) } ?? false)
            }
            let settings = WhatsAppCloudSettings(phoneNumberID: "1", accessToken: token, appSecret: secret)
            #expect(!"\(settings)".contains(token) && !"\(settings)".contains(secret))
        }
    }
}
