import Domain
import Foundation
import Logging
@testable import MessagingProviders
import OutboundHTTP
import Testing
import TestSupport

@Suite struct TwilioTests {
    static let service = "MG" + String(repeating: "ab", count: 16)

    static func sms(_ harness: ProviderHarness, authToken: String? = nil, sender: String = "SALON", service: String = "", timeoutSeconds: Int = 15) -> TwilioSMS {
        TwilioSMS(settings: TwilioSettings(apiBaseURL: harness.fake.baseURL, accountSID: harness.fake.credentials["account_sid"]!,
                                           authToken: authToken ?? harness.fake.credentials["auth_token"]!, sender: sender,
                                           messagingServiceSID: service, timeoutSeconds: timeoutSeconds),
                  http: harness.http, logger: harness.logger)
    }

    @Test func aMessageLandsWithToBodyAndFrom() async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            let text = "Emma, your haircut is tomorrow at 15:00 & see you + bring 100%?"
            let sent = try await Self.sms(harness).send(outgoing("+447700900123", .sms, text: text))
            let messages = try await harness.fake.messages()
            #expect(messages.count == 1)
            #expect(messages.first?.recipient == "+447700900123")
            #expect(messages.first?.text == text)
            #expect(messages.first?.sender == "SALON")
            #expect(messages.first?.messagingServiceSID == "")
            #expect(sent == SentMessage(providerID: messages[0].providerID, status: .accepted))
            #expect(sent.providerID.hasPrefix("SM"))
        }
    }

    @Test func withAMessagingServiceItIsSentThroughTheService() async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            _ = try await Self.sms(harness, sender: "", service: Self.service).send(outgoing("+447700900123", .sms))
            let messages = try await harness.fake.messages()
            #expect(messages.first?.messagingServiceSID == Self.service)
            #expect(messages.first?.sender == "")
        }
    }

    @Test(arguments: [(429, 2 as Int?), (503, nil)])
    func tooManyRequestsAndUnavailableAreRetryable(status: Int, retryAfter: Int?) async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: status, retryAfter: retryAfter)
            let error = await sendError { try await Self.sms(harness).send(outgoing("+447700900123", .sms)) }
            #expect(error?.isRetryable == true)
            #expect(error?.retryAfter == retryAfter)
        }
    }

    @Test func aServerErrorAndAnAnswerThatNeverCameAreUnknownOutcomes() async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: 500)
            let failed = await sendError { try await Self.sms(harness).send(outgoing("+447700900123", .sms)) }
            #expect(failed?.isOutcomeUnknown == true)
            try await harness.fake.acceptThenHang()
            let hung = await sendError { try await Self.sms(harness, timeoutSeconds: 2).send(outgoing("+447700900123", .sms)) }
            #expect(hung?.isOutcomeUnknown == true)
            #expect(try await harness.fake.messages().count == 1)
        }
    }

    @Test func twiliosRefusalsAreRejectedWithTheirCode() async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: 400, description: "Attempt to send to unsubscribed recipient", code: 21610)
            let stopped = await sendError { try await Self.sms(harness).send(outgoing("+447700900123", .sms)) }
            #expect(stopped?.rejectedUnlink == false)
            #expect(stopped?.reason.contains("21610 Attempt to send to unsubscribed recipient") == true)
            let wrongToken = await sendError { try await Self.sms(harness, authToken: "wrong-token").send(outgoing("+447700900123", .sms)) }
            #expect(wrongToken?.rejectedUnlink == false)
            #expect(wrongToken?.reason.contains("20003") == true)
            #expect(try await harness.fake.messages().isEmpty)
        }
    }

    /// Every status Twilio documents, as ours; a failure carries `error_code error_message`.
    @Test(arguments: [
        ("queued", DeliveryStatus.accepted), ("accepted", .accepted), ("scheduled", .accepted), ("sending", .accepted), ("sent", .sent),
        ("delivered", .delivered), ("read", .read), ("undelivered", .failed), ("failed", .failed), ("canceled", .failed),
    ])
    func statusesAreAskedAndMapped(twilio: String, expected: DeliveryStatus) async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            let sms = Self.sms(harness)
            let id = try await sms.send(outgoing("+447700900123", .sms)).providerID
            let failed = expected == .failed
            try await harness.fake.setStatus(id: id, status: twilio, errorCode: failed ? 30003 : nil, errorMessage: failed ? "Unreachable destination handset" : nil)
            let updates = try await sms.statuses(of: [id, "SM" + String(repeating: "0", count: 32)])
            #expect(updates.count == 1)
            #expect(updates.first?.providerID == id)
            #expect(updates.first?.status == expected)
            #expect(updates.first?.reason == (failed ? "30003 Unreachable destination handset" : ""))
            #expect((updates.first?.at?.milliseconds ?? 0) > 1_700_000_000_000)
        }
    }

    @Test func statusesThatCannotBeAskedAreRetryable() async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            let sms = Self.sms(harness)
            let id = try await sms.send(outgoing("+447700900123", .sms)).providerID
            try await harness.fake.fail(status: 503, endpoint: .status)
            let error = await sendError { try await sms.statuses(of: [id]) }
            #expect(error?.isRetryable == true)
        }
    }

    @Test func twiliosDatesAreRead() {
        #expect(TwilioSMS.instant("Thu, 24 Aug 2023 05:01:45 +0000") == Instant(iso8601: "2023-08-24T05:01:45Z"))
        #expect(TwilioSMS.instant("yesterday") == nil)
    }

    @Test(arguments: [("SALON", true), ("Salon 24", true), ("+447700900123", true), ("12345", false), ("SalonDeLuxe1", false), ("", false), ("Салон", false)])
    func theSenderMustBeOneTwilioTakes(sender: String, valid: Bool) {
        #expect(TwilioSettings.isValidSender(sender) == valid)
    }

    @Test func neitherTheAuthTokenNorTheTextIsLogged() async throws {
        try await withFake(.twilio) { (harness: ProviderHarness) async throws in
            let token = harness.fake.credentials["auth_token"]!
            let text = "secret text 7731"
            let sms = Self.sms(harness)
            _ = try await sms.send(outgoing("+447700900123", .sms, text: text))
            try await harness.fake.fail(status: 400, description: "Attempt to send to unsubscribed recipient", code: 21610)
            let refused = await sendError { try await sms.send(outgoing("+447700900123", .sms, text: text)) }
            try await harness.fake.acceptThenHang()
            let hung = await sendError { try await Self.sms(harness, timeoutSeconds: 1).send(outgoing("+447700900123", .sms, text: text)) }
            let basic = Data("\(harness.fake.credentials["account_sid"]!):\(token)".utf8).base64EncodedString()
            let logs = harness.logText
            #expect(harness.logs.recorded.count >= 3)
            for hidden in [token, basic, text] {
                #expect(!logs.contains(hidden))
                for error in [refused, hung] { #expect(error.map { !$0.reason.contains(hidden) } ?? false) }
            }
            #expect(!"\(TwilioSettings(accountSID: "AC", authToken: token, sender: "SALON"))".contains(token))
        }
    }
}
