import Domain
import Foundation
import Logging
@testable import MessagingProviders
import OutboundHTTP
import Testing
import TestSupport

@Suite struct MobizonTests {
    static func sms(_ harness: ProviderHarness, apiKey: String? = nil, sender: String = "SALON", timeoutSeconds: Int = 15) -> MobizonSMS {
        MobizonSMS(settings: MobizonSettings(apiBaseURL: harness.fake.baseURL, apiKey: apiKey ?? harness.fake.credentials["api_key"]!, sender: sender,
                                             timeoutSeconds: timeoutSeconds),
                   http: harness.http, logger: harness.logger)
    }

    @Test func aMessageLandsWithTheDigitsTheTextAndTheSender() async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            let text = "Айгерим, напоминаем: стрижка 12.12 в 15:00 & до встречи + 100% скидка?"
            let sent = try await Self.sms(harness).send(outgoing("+77011234567", .sms, text: text))
            let messages = try await harness.fake.messages()
            #expect(messages.count == 1)
            #expect(messages.first?.recipient == "77011234567")
            #expect(messages.first?.text == text)
            #expect(messages.first?.sender == "SALON")
            #expect(sent == SentMessage(providerID: messages[0].providerID, status: .accepted))
        }
    }

    /// Mobizon's code 1 names the field it refused; a wrong API key is refused too.
    @Test func mobizonsErrorCodesAreRejectedWithTheirMessage() async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            // Eight digits are E.164 but not a number Mobizon takes.
            let invalid = await sendError { try await Self.sms(harness).send(outgoing("+12345678", .sms)) }
            #expect(invalid?.rejectedUnlink == false)
            #expect(invalid?.reason.contains("code 1") == true && invalid?.reason.contains("recipient") == true)
            let wrongKey = await sendError { try await Self.sms(harness, apiKey: "kz-wrong").send(outgoing("+77011234567", .sms)) }
            #expect(wrongKey?.rejectedUnlink == false)
            #expect(wrongKey?.reason.contains("code 8") == true)
            #expect(try await harness.fake.messages().isEmpty)
        }
    }

    @Test func aNumberThatIsNotE164IsRejectedBeforeAnythingIsSent() async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            for number in ["87011234567", "+7 701 123 45 67", "+0123456789", ""] {
                let error = await sendError { try await Self.sms(harness).send(outgoing(number, .sms)) }
                #expect(error?.rejectedUnlink == false)
            }
            #expect(try await harness.fake.stats().requests == 0)
        }
    }

    @Test(arguments: [(429, 2 as Int?), (503, nil)])
    func tooManyRequestsAndUnavailableAreRetryable(status: Int, retryAfter: Int?) async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: status, retryAfter: retryAfter)
            let error = await sendError { try await Self.sms(harness).send(outgoing("+77011234567", .sms)) }
            #expect(error?.isRetryable == true)
            #expect(error?.retryAfter == retryAfter)
        }
    }

    @Test func aServerErrorAndAnAnswerThatNeverCameAreUnknownOutcomes() async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            try await harness.fake.fail(status: 500)
            let failed = await sendError { try await Self.sms(harness).send(outgoing("+77011234567", .sms)) }
            #expect(failed?.isOutcomeUnknown == true)
            try await harness.fake.acceptThenHang()
            let hung = await sendError { try await Self.sms(harness, timeoutSeconds: 2).send(outgoing("+77011234567", .sms)) }
            #expect(hung?.isOutcomeUnknown == true)
            #expect(try await harness.fake.messages().count == 1)
        }
    }

    @Test func statusesAreAskedAndMapped() async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            let sms = Self.sms(harness)
            #expect(sms.canReportStatus)
            var ids: [String] = []
            for index in 0..<7 { ids.append(try await sms.send(outgoing("+7701123456\(index)", .sms)).providerID) }
            let set = ["DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "ENQUEUD", "ACCEPTD"]
            for (id, status) in zip(ids, set) { try await harness.fake.setStatus(id: id, status: status) }
            let updates = try await sms.statuses(of: ids + ["99999999"])
            #expect(updates.map(\.providerID) == ids)
            #expect(updates.map(\.status) == [.delivered, .failed, .failed, .failed, .accepted, .accepted, .accepted])
            #expect(updates.map(\.reason) == ["", "UNDELIV", "REJECTD", "EXPIRED", "", "", ""])
        }
    }

    @Test func mobizonsStatusNamesMapToOurs() {
        #expect(MobizonSMS.status("NEW") == .accepted)
        #expect(MobizonSMS.status("DELIVRD") == .delivered)
        #expect(MobizonSMS.status("DELETED") == .failed)
        #expect(MobizonSMS.status("UNKNOWN") == .failed)
        #expect(MobizonSMS.status("SOMETHING") == nil)
    }

    /// Asking for statuses loses nothing by being repeated: any failure is `.retryable`.
    @Test(arguments: [503, 500])
    func statusesThatCannotBeAskedAreRetryable(status: Int) async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            let sms = Self.sms(harness)
            let id = try await sms.send(outgoing("+77011234567", .sms)).providerID
            try await harness.fake.fail(status: status, endpoint: .status)
            let error = await sendError { try await sms.statuses(of: [id]) }
            #expect(error?.isRetryable == true)
        }
    }

    @Test func neitherTheAPIKeyNorTheTextIsLogged() async throws {
        try await withFake(.mobizon) { (harness: ProviderHarness) async throws in
            let key = harness.fake.credentials["api_key"]!
            let text = "секретный текст 7731"
            let sms = Self.sms(harness)
            _ = try await sms.send(outgoing("+77011234567", .sms, text: text))
            try await harness.fake.fail(status: 200, description: "Недостаточно средств", code: 3)
            let refused = await sendError { try await sms.send(outgoing("+77011234567", .sms, text: text)) }
            try await harness.fake.acceptThenHang()
            let hung = await sendError { try await Self.sms(harness, timeoutSeconds: 1).send(outgoing("+77011234567", .sms, text: text)) }
            let logs = harness.logText
            #expect(harness.logs.recorded.count >= 3)
            for hidden in [key, text] {
                #expect(!logs.contains(hidden))
                for error in [refused, hung] { #expect(error.map { !$0.reason.contains(hidden) } ?? false) }
            }
            #expect(!"\(MobizonSettings(apiKey: key))".contains(key))
        }
    }
}
