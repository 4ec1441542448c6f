import Domain
import Foundation
import Logging
import OutboundHTTP

/// Which channels this box sends by and with what (`messaging.*` in the configuration, secrets
/// read from their files when the node starts, so a missing file stops it with a clear message).
struct MessagingSetup: Sendable {
    var providers: [MessageChannel: String] = [:]
    var perSecond: [MessageChannel: Int] = [:]
    var demo = false

    init(_ configuration: NodeConfiguration.Messaging, demo: Bool) throws {
        perSecond = [.telegram: configuration.telegram.perSecond, .whatsapp: configuration.whatsapp.perSecond,
                     .sms: configuration.sms.perSecond, .email: configuration.email.perSecond]
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
        if demo {
            transports[.sms] = DemoMessageTransport(channel: .sms, logger: logger)
            transports[.email] = DemoMessageTransport(channel: .email, logger: logger)
        }
        return transports
    }
}
