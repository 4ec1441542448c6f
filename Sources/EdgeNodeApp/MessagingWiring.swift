import Domain
import Foundation
import Logging
import MessagingProviders
import OutboundHTTP
import Hummingbird
import HTTPTypes
import LocalAPI

/// Which channels this box sends by and with what (`messaging.*` in the configuration, secrets
/// read from their files when the node starts, so a missing file stops it with a clear message).
struct MessagingSetup: Sendable {
    var providers: [MessageChannel: String] = [:]
    var perSecond: [MessageChannel: Int] = [:]
    var demo = false
    var telegram: TelegramSettings?
    var whatsapp: WhatsAppCloudSettings?
    var mobizon: MobizonSettings?
    var twilio: TwilioSettings?
    var email: SMTPSettings?

    init(_ configuration: NodeConfiguration.Messaging, demo: Bool) throws {
        perSecond = [.telegram: configuration.telegram.perSecond, .whatsapp: configuration.whatsapp.perSecond,
                     .sms: configuration.sms.perSecond, .email: configuration.email.perSecond]
        let timeout = configuration.timeoutSeconds
        func check(_ key: String, _ problems: [String]) throws {
            guard problems.isEmpty else { throw CommandFailure("\(key): \(problems.joined(separator: "; "))") }
        }
        if !configuration.telegram.tokenFile.isEmpty {
            let settings = TelegramSettings(apiBaseURL: configuration.telegram.apiURL,
                                            token: try Self.secret(configuration.telegram.tokenFile, "messaging.telegram.token_file"), timeoutSeconds: timeout)
            try check("messaging.telegram", settings.problems)
            telegram = settings
            providers[.telegram] = "telegram"
        }
        if !configuration.whatsapp.phoneNumberID.isEmpty {
            let settings = WhatsAppCloudSettings(apiBaseURL: configuration.whatsapp.apiURL, phoneNumberID: configuration.whatsapp.phoneNumberID,
                                                 accessToken: try Self.secret(configuration.whatsapp.tokenFile, "messaging.whatsapp.token_file"),
                                                 appSecret: try Self.secret(configuration.whatsapp.appSecretFile, "messaging.whatsapp.app_secret_file"),
                                                 timeoutSeconds: timeout)
            try check("messaging.whatsapp", settings.problems)
            whatsapp = settings
            providers[.whatsapp] = "whatsapp_cloud"
        }
        switch configuration.sms.provider {
        case "mobizon":
            let settings = MobizonSettings(apiBaseURL: configuration.mobizon.apiURL,
                                           apiKey: try Self.secret(configuration.mobizon.apiKeyFile, "messaging.mobizon.api_key_file"),
                                           sender: configuration.sms.sender, timeoutSeconds: timeout)
            try check("messaging.mobizon", settings.problems)
            mobizon = settings
            providers[.sms] = "mobizon"
        case "twilio":
            let settings = TwilioSettings(apiBaseURL: configuration.twilio.apiURL, accountSID: configuration.twilio.accountSID,
                                          authToken: try Self.secret(configuration.twilio.authTokenFile, "messaging.twilio.auth_token_file"),
                                          sender: configuration.sms.sender, messagingServiceSID: configuration.twilio.messagingServiceSID, timeoutSeconds: timeout)
            try check("messaging.twilio", settings.problems)
            twilio = settings
            providers[.sms] = "twilio"
        default:
            break
        }
        if !configuration.email.host.isEmpty {
            guard !configuration.email.from.isEmpty else { throw CommandFailure("messaging.email.from is needed to send email") }
            email = SMTPSettings(host: configuration.email.host, port: configuration.email.port,
                                 security: SMTPSettings.Security(rawValue: configuration.email.security) ?? .startTLS, username: configuration.email.username,
                                 password: configuration.email.passwordFile.isEmpty ? "" : try Self.secret(configuration.email.passwordFile, "messaging.email.password_file"),
                                 from: configuration.email.from, fromName: configuration.email.fromName, caFile: configuration.email.caFile, timeoutSeconds: timeout)
            providers[.email] = "smtp"
        }
        if providers.isEmpty && demo {
            self.demo = true
            providers = [.sms: "demo", .email: "demo"]
        }
    }

    static func secret(_ path: String, _ key: String) throws -> String {
        guard !path.isEmpty else { throw CommandFailure("\(key) is needed (a file holding the secret)") }
        do {
            let value = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw CommandFailure("\(key): \(path) is empty") }
            return value
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure("\(key): cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// The transports, made with the node's outbound HTTP client.
    func transports(outbound: any OutboundHTTP, logger: Logger) -> [MessageChannel: any MessageTransport] {
        var transports: [MessageChannel: any MessageTransport] = [:]
        if let telegram { transports[.telegram] = TelegramBot(settings: telegram, http: outbound, logger: logger) }
        if let whatsapp { transports[.whatsapp] = WhatsAppCloud(settings: whatsapp, http: outbound, logger: logger) }
        if let mobizon { transports[.sms] = MobizonSMS(settings: mobizon, http: outbound, logger: logger) }
        if let twilio { transports[.sms] = TwilioSMS(settings: twilio, http: outbound, logger: logger) }
        if let email { transports[.email] = SMTPMailer(settings: email, logger: logger) }
        if demo {
            transports[.sms] = DemoMessageTransport(channel: .sms, logger: logger)
            transports[.email] = DemoMessageTransport(channel: .email, logger: logger)
        }
        return transports
    }
}

/// WhatsApp Cloud's status webhook (`POST /hooks/whatsapp`). A body without the app secret's signature is refused (401)
/// and changes nothing; statuses may arrive in any order (docs/messaging.md §5).
struct WhatsAppWebhook: Sendable {
    let appSecret: String
    let shop: Shop
    let logger: Logger

    func register(on router: Router<APIContext>) {
        router.post("/hooks/whatsapp") { [self] request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1024 * 1024)
            let body = Array(buffer.readableBytesView)
            guard WhatsAppCloud.verifySignature(body: body, header: request.headers[HTTPField.Name("X-Hub-Signature-256")!], appSecret: appSecret) else {
                logger.notice("a WhatsApp webhook without a valid signature was refused")
                return Response(status: .unauthorized)
            }
            let updates: [DeliveryUpdate]
            do { updates = try WhatsAppCloud.deliveryUpdates(webhookBody: body) } catch {
                return Response(status: .badRequest)
            }
            _ = try await shop.messaging.recordDelivery(updates, provider: "whatsapp_cloud")
            return Response(status: .ok)
        }
    }
}
