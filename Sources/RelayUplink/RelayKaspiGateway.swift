import Domain
import Foundation
import NIOCore
import NIOHTTP1
import OutboundHTTP
import RelayWire
import Replication

/// Kaspi QR payments through the business's relay (docs/kaspi.md): the domain's
/// `QRPaymentGateway` over the relay's Kaspi endpoints (docs/relay-protocol.md §14), with the
/// box's signed requests. The box sends amounts and ids only, never who pays.
///
/// Errors are `QRGatewayError`: no answer from the relay (network, timeout, 5xx, 429), Kaspi not
/// answering definitely, or another request for the same id in progress → `.unreachable`; Kaspi's
/// refusal → `.refused` with Kaspi's code; the relay not a Kaspi gateway, no access stored for the
/// business, or this box not known to the relay → `.notConfigured`; anything else the relay
/// refuses (an id reused with another amount, an unknown payment, a currency other than KZT) →
/// `.refused` without a code.
public struct RelayKaspiGateway: QRPaymentGateway {
    let client: RelayClient
    let timeout: TimeAmount

    /// - Parameters:
    ///   - relayURL: the box's `relay.url`; `caFile`: its `relay.ca_file` (nil: the system's roots).
    ///   - identity, business: the box's (`shop.store.identity`, `shop.store.business`).
    ///   - time: the relay's clock as the uplink measured it (`UplinkStatus.time`), so requests are
    ///     signed with it.
    ///   - http: the node's outbound HTTP client.
    ///   - timeout: how long one request to the relay may take; above the relay's own Kaspi timeout.
    /// - Returns: nil when `relayURL` is not `http(s)://host[:port][/path]`.
    public init?(relayURL: String, caFile: String? = nil, identity: SigningKey, business: BusinessID, time: RelayTime = RelayTime(),
                 http: any OutboundHTTP = HTTPClientOutbound.shared, timeout: Duration = .seconds(60)) {
        guard let endpoint = RelayEndpoint(url: relayURL, caFile: caFile) else { return nil }
        self.client = RelayClient(endpoint: endpoint, identity: identity, business: business, time: time, client: http)
        self.timeout = TimeAmount(timeout)
    }

    public func createQR(paymentID: String, amount: Money) async throws -> QRInvoice {
        let reply = try await call(.POST, "/kaspi/qr", RelayJSON.KaspiQRRequest(paymentId: paymentID, amountMinor: amount.amountMinor, currency: amount.currency),
                                   as: RelayJSON.KaspiQRReply.self)
        return QRInvoice(providerPaymentID: reply.qrPaymentId, qrToken: reply.qrToken, expiresAt: Instant(milliseconds: reply.expiresAt),
                         pollIntervalSeconds: reply.pollIntervalSeconds, scanTimeoutSeconds: reply.scanTimeoutSeconds,
                         confirmationTimeoutSeconds: reply.confirmationTimeoutSeconds)
    }

    public func status(providerPaymentID: String) async throws -> QRPaymentStatus {
        let reply = try await call(.GET, "/kaspi/payments/\(try Self.pathID(providerPaymentID))/status", Optional<RelayJSON.KaspiQRRequest>.none,
                                   as: RelayJSON.KaspiStatusReply.self)
        switch reply.status {
        case "created": return .created
        case "waiting": return .waiting
        case "processed": return .processed
        case "failed": return .failed(reason: reply.reason ?? "error")
        default: throw QRGatewayError(.unreachable, "the relay answered an unknown status \(reply.status)")
        }
    }

    public func refundable(providerPaymentID: String) async throws -> QRRefundable {
        let reply = try await call(.GET, "/kaspi/payments/\(try Self.pathID(providerPaymentID))/refundable", Optional<RelayJSON.KaspiQRRequest>.none,
                                   as: RelayJSON.KaspiRefundableReply.self)
        return QRRefundable(total: Money(amountMinor: reply.totalMinor, currency: reply.currency),
                            available: Money(amountMinor: reply.availableMinor, currency: reply.currency))
    }

    public func refund(providerPaymentID: String, amount: Money, refundID: String) async throws -> QRRefundResult {
        let reply = try await call(.POST, "/kaspi/payments/\(try Self.pathID(providerPaymentID))/refunds",
                                   RelayJSON.KaspiRefundRequest(refundId: refundID, amountMinor: amount.amountMinor, currency: amount.currency),
                                   as: RelayJSON.KaspiRefundReply.self)
        return QRRefundResult(providerReference: reply.reference)
    }

    // MARK: Transport

    static func pathID(_ id: String) throws -> String {
        guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 }) else {
            throw QRGatewayError(.refused, "not a Kaspi payment id: \(id.prefix(80))")
        }
        return id
    }

    private func call<Body: Encodable, Reply: Decodable>(_ method: HTTPMethod, _ path: String, _ body: Body?, as: Reply.Type) async throws -> Reply {
        let bytes: [UInt8]
        do {
            let json = try body.map { Array(try RelayClient.encoder.encode($0)) } ?? []
            bytes = try await client.exchange(method, path, body: json, contentType: "application/json", timeout: timeout)
        } catch let problem as RelayClient.Problem {
            throw Self.gatewayError(problem)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw QRGatewayError(.unreachable, "the relay did not answer: \(error)")
        }
        do { return try RelayClient.decoder.decode(Reply.self, from: Data(bytes)) } catch {
            throw QRGatewayError(.unreachable, "the relay's answer does not decode")
        }
    }

    static func gatewayError(_ problem: RelayClient.Problem) -> QRGatewayError {
        switch problem.kind {
        case "kaspi_refused": return QRGatewayError(.refused, code: problem.kaspiCode, problem.detail)
        case "kaspi_not_configured", "unknown_principal", "revoked", "not_valid", "forbidden", "unauthenticated", "bad_signature":
            return QRGatewayError(.notConfigured, problem.detail)
        case "kaspi_unavailable", "kaspi_in_progress", "stale_request", "replayed_request": return QRGatewayError(.unreachable, problem.detail)
        default:
            if problem.isTransient { return QRGatewayError(.unreachable, problem.detail) }
            return QRGatewayError(.refused, "\(problem.kind): \(problem.detail)")
        }
    }
}
