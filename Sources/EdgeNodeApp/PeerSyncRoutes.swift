import Foundation
import HTTPTypes
import Hummingbird
import LANSync
import LocalAPI
import NIOCore
import NIOPosix
import Replication

/// LAN sync's server side on the box's HTTP server: the routes, reading their bodies and mapping
/// errors to problems. The protocol itself (handshake, sessions, exchange) is LANSync's
/// `PeerSyncServer`; this is the wiring to the box's router.
extension PeerSyncServer {
    /// Adds `/sync/v1/hello`, `/sync/v1/confirm` and `/sync/v1/exchange` to the box's router.
    public func register(on router: Router<APIContext>) {
        router.post("/sync/v1/hello") { [self] request, _ in
            try await respond {
                let hello = try await Self.body(request, as: Hello.self)
                return try await shop.store.perform { try self.hello(hello) }
            }
        }
        router.post("/sync/v1/confirm") { [self] request, _ in
            try await respond {
                let confirm = try await Self.body(request, as: Confirm.self)
                return try await shop.store.perform { try self.confirm(confirm) }
            }
        }
        router.post("/sync/v1/exchange") { [self] request, context in
            try await respond {
                guard let header = request.headers[.authorization], header.hasPrefix("EdgenodeSync ") else {
                    throw PeerAuthError(.badSignature, "no sync session; authenticate with /sync/v1/hello first")
                }
                guard let session = self.session(String(header.dropFirst(13))) else { throw SessionExpired() }
                let exchange = try await Self.body(request, as: Exchange.self)
                return try await self.exchange(exchange, from: session, peerAddress: context.remoteAddress)
            }
        }
    }

    static func body<T: Decodable>(_ request: Request, as type: T.Type) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024 * 1024)
        return try decoder().decode(type, from: Data(buffer.readableBytesView))
    }

    fileprivate func respond<T: Encodable>(_ body: () async throws -> T) async throws -> Response {
        do {
            let value = try await body()
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try Self.encoder().encode(value))))
        } catch is SessionExpired {
            return problem(401, "session_expired", "the sync session is unknown or expired; authenticate again with /sync/v1/hello")
        } catch let error as PeerAuthError {
            logger.warning("peer refused", metadata: ["reason": "\(error)"])
            return problem(403, "peer_refused", error.description)
        } catch is Swift.DecodingError {
            return problem(400, "malformed_body", "the sync request is not the JSON this endpoint takes")
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return problem(413, "body_too_large", "sync requests are limited to 64 MiB")
        } catch {
            logger.error("sync request failed", metadata: ["error": "\(error)"])
            return problem(503, "storage", "the box could not apply or read changesets; see its log")
        }
    }

    fileprivate func problem(_ status: Int, _ kind: String, _ detail: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        let body = try? JSONSerialization.data(withJSONObject: ["type": "urn:edgenode:problem:\(kind)", "status": status, "detail": detail])
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body ?? Data())))
    }
}
