import Foundation
import Hummingbird
import RelayWire
import Replication

/// The Kaspi gateway's endpoints for boxes (docs/relay-protocol.md §14, docs/kaspi.md): signed
/// like every box request; the business is the path's, which the signature's certificate must be of.
extension RelayHTTP {
    func registerKaspiRoutes(on router: Router<BasicRequestContext>, prefix: String) {
        router.post("\(prefix)/kaspi/qr") { request, context in
            let (business, gateway, body) = try await kaspiRequest(request, context, limit: core.limits.maxSmallBodyBytes)
            try await authenticateBox(request, business: business, body: body)
            let asked = try decode(RelayJSON.KaspiQRRequest.self, body)
            try Self.checkOperationID(asked.paymentId, "payment_id")
            let qr = try await gateway.createQR(business: business, paymentID: asked.paymentId, amountMinor: asked.amountMinor, currency: asked.currency)
            return try json(RelayJSON.KaspiQRReply(paymentId: qr.paymentID, qrPaymentId: qr.qrPaymentID, qrToken: qr.qrToken, expiresAt: qr.expiresAt,
                                                   pollIntervalSeconds: qr.pollIntervalSeconds, scanTimeoutSeconds: qr.scanTimeoutSeconds,
                                                   confirmationTimeoutSeconds: qr.confirmationTimeoutSeconds, created: qr.created),
                            status: qr.created ? .created : .ok)
        }

        router.get("\(prefix)/kaspi/payments/:payment/status") { request, context in
            let (business, gateway, body) = try await kaspiRequest(request, context, limit: 0)
            try await authenticateBox(request, business: business, body: body)
            let id = try Self.qrPaymentID(context)
            let (status, expiresAt) = try await gateway.status(business: business, qrPaymentID: id)
            let (name, reason): (String, String?) = switch status {
            case "QrTokenCreated": ("created", nil)
            case "Wait": ("waiting", nil)
            case "Processed": ("processed", nil)
            default: ("failed", core.clock.now() >= expiresAt ? "expired" : "error")
            }
            return try json(RelayJSON.KaspiStatusReply(qrPaymentId: id, status: name, kaspiStatus: status, reason: reason, expiresAt: expiresAt))
        }

        router.get("\(prefix)/kaspi/payments/:payment/refundable") { request, context in
            let (business, gateway, body) = try await kaspiRequest(request, context, limit: 0)
            try await authenticateBox(request, business: business, body: body)
            let id = try Self.qrPaymentID(context)
            let amounts = try await gateway.refundable(business: business, qrPaymentID: id)
            return try json(RelayJSON.KaspiRefundableReply(qrPaymentId: id, totalMinor: amounts.total, availableMinor: amounts.available, currency: amounts.currency))
        }

        router.post("\(prefix)/kaspi/payments/:payment/refunds") { request, context in
            let (business, gateway, body) = try await kaspiRequest(request, context, limit: core.limits.maxSmallBodyBytes)
            try await authenticateBox(request, business: business, body: body)
            let id = try Self.qrPaymentID(context)
            let asked = try decode(RelayJSON.KaspiRefundRequest.self, body)
            try Self.checkOperationID(asked.refundId, "refund_id")
            let (reference, created) = try await gateway.refund(business: business, qrPaymentID: id, refundID: asked.refundId,
                                                                amountMinor: asked.amountMinor, currency: asked.currency)
            return try json(RelayJSON.KaspiRefundReply(refundId: asked.refundId, qrPaymentId: id, reference: reference, created: created),
                            status: created ? .created : .ok)
        }
    }

    /// The path's business, the gateway (or `kaspi_not_configured`) and the body (at most `limit` bytes); no query parameters.
    private func kaspiRequest(_ request: Request, _ context: BasicRequestContext, limit: Int) async throws -> (BusinessID, KaspiGateway<Storage>, [UInt8]) {
        let (business, body) = try await prepare(request, context, limit: limit, precheck: true)
        guard request.uri.queryParameters.isEmpty else { throw RelayError(.invalidParameter, "this endpoint takes no query parameters") }
        guard let kaspi else { throw RelayError(.kaspiNotConfigured, "this relay is not a Kaspi gateway") }
        return (business, kaspi, body)
    }

    /// Only a box of the business (or its owner) uses the gateway.
    private func authenticateBox(_ request: Request, business: BusinessID, body: [UInt8]) async throws {
        let principal = try await core.authenticate(signed(request, body), pathBusiness: business)
        switch principal {
        case .box, .owner: return
        case .enrollee, .invitee: throw RelayError(.forbidden, "only the business's boxes use its Kaspi gateway")
        }
    }

    static func checkOperationID(_ id: String, _ field: String) throws {
        guard (1...64).contains(id.utf8.count),
              id.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 || $0 == 46 }) else {
            throw RelayError(.malformedBody, "\(field) must be 1…64 characters of A-Z a-z 0-9 - _ .")
        }
    }

    static func qrPaymentID(_ context: BasicRequestContext) throws -> String {
        guard let id = context.parameters.get("payment"), (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 }) else {
            throw RelayError(.notFound, "the path must name a Kaspi QrPaymentId")
        }
        return id
    }
}
