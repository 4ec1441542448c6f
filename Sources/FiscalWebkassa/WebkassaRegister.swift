import Domain
import Logging
import OutboundHTTP

/// The fiscal register adapter for Webkassa (a cloud cash register in Kazakhstan), over the box's
/// outbound HTTP port.
///
/// `register` authorises once (`POST /api/v4/Authorize` with the API key, login and password) and
/// keeps the session token for later checks; it sends the document as `POST /api/v4/Check` with
/// the document's id as `ExternalCheckNumber`. Webkassa refuses a second check with the same
/// external number (error 14), so sending a document again never fiscalises it twice: on error 14
/// the adapter answers the existing check, from the error's `Data` when Webkassa includes it, or
/// else from `POST /api-history/v4/Ticket/GetTicketByExternalCheckNumber`. An expired session
/// (error 2) is re-authorised once and the call repeated.
///
/// Errors (`FiscalRegisterError`): `.retryable` when the answer is unknown or the register cannot
/// take documents now (no connection, timeout, a dropped connection, HTTP 5xx, an answer that is
/// not Webkassa's JSON, a session that re-authorising did not fix, the cashier's account, cashbox
/// or shift unusable); `.permanent` when Webkassa or the adapter refused this document itself
/// (validation error 9 or another code, not tenge, totals that disagree), with Webkassa's text.
///
/// Calls are meant to come one at a time (the fiscal outbox sends one document after another;
/// Webkassa wants the requests for one cashbox sequential). The API key and the password are never
/// logged; logs carry document ids and check numbers only.
public actor WebkassaRegister: FiscalRegister {
    public nonisolated let name = "webkassa"
    private let settings: WebkassaSettings
    private let endpoint: WebkassaSettings.Endpoint
    private let tls: OutboundTLS?
    private let http: any OutboundHTTP
    private let logger: Logger
    /// The session token from the last `Authorize`, reused until Webkassa says it expired.
    private var token: String?

    /// - Parameters:
    ///   - configuration: the `fiscal.webkassa.*` settings.
    ///   - http: the box's outbound HTTP client (the runtime's `HTTPClientOutbound`).
    ///   - tls: for an `https` URL, how Webkassa's certificate is checked (default: the system's roots).
    /// - Throws: `WebkassaSettingsError` listing what is wrong with `configuration`.
    public init(configuration: WebkassaSettings, http: any OutboundHTTP, logger: Logger, tls: OutboundTLS = .systemRoots) throws(WebkassaSettingsError) {
        let problems = configuration.problems
        guard problems.isEmpty, let endpoint = WebkassaSettings.endpoint(of: configuration.url) else {
            throw WebkassaSettingsError(problems: problems)
        }
        self.settings = configuration
        self.endpoint = endpoint
        self.tls = endpoint.usesTLS ? tls : nil
        self.http = http
        self.logger = logger
    }

    public func register(_ document: FiscalDocument) async throws -> FiscalReceipt {
        try WebkassaProtocol.validate(document)
        let reply = try await authorised("Check") { token in
            try await self.post("/api/v4/Check", WebkassaProtocol.checkBody(document, token: token, cashbox: self.settings.cashbox,
                                                                            unitCode: self.settings.unitCode))
        }
        if let receipt = reply.receipt(register: name), reply.errors.isEmpty {
            logger.debug("fiscalised", metadata: ["fiscal.document": "\(document.id)", "fiscal.check": "\(receipt.checkNumber)"])
            return receipt
        }
        guard let error = reply.errors.first else {
            throw FiscalRegisterError(.retryable, "Webkassa answered the check of \(document.id) with neither a check number nor an error")
        }
        if error.code == WebkassaProtocol.Code.duplicateExternalNumber {
            let receipt = try await existingReceipt(reply, document: document)
            logger.info("already fiscalised", metadata: ["fiscal.document": "\(document.id)", "fiscal.check": "\(receipt.checkNumber)"])
            return receipt
        }
        let failure = WebkassaProtocol.classify(error)
        logger.warning("check not registered", metadata: ["fiscal.document": "\(document.id)", "fiscal.error": "\(failure)"])
        throw failure
    }

    /// The check Webkassa already holds for the document (after error 14).
    private func existingReceipt(_ reply: WebkassaProtocol.Reply, document: FiscalDocument) async throws -> FiscalReceipt {
        if let receipt = reply.receipt(register: name) { return receipt }
        let found = try await authorised("GetTicketByExternalCheckNumber") { token in
            try await self.post("/api-history/v4/Ticket/GetTicketByExternalCheckNumber",
                                WebkassaProtocol.lookupBody(token: token, cashbox: self.settings.cashbox, externalNumber: document.id))
        }
        if let receipt = found.receipt(register: name) { return receipt }
        // Webkassa said the check exists, so sending it again would be refused again: ask later.
        let reason = found.errors.first.map { "error \($0.code): \($0.text)" } ?? "no check number in the answer"
        throw FiscalRegisterError(.retryable, "Webkassa holds a check for \(document.id) but did not give it (\(reason))")
    }

    /// Calls `body` with a session token; on error 2 (session expired) authorises again and calls
    /// it once more.
    private func authorised(_ call: String, _ body: (String) async throws -> WebkassaProtocol.Reply) async throws -> WebkassaProtocol.Reply {
        let first = try await body(try await sessionToken())
        guard first.errors.contains(where: { $0.code == WebkassaProtocol.Code.sessionExpired }) else { return first }
        logger.info("Webkassa session expired; authorising again", metadata: ["fiscal.call": "\(call)"])
        token = nil
        let second = try await body(try await sessionToken())
        if let expired = second.errors.first(where: { $0.code == WebkassaProtocol.Code.sessionExpired }) {
            token = nil
            throw FiscalRegisterError(.retryable, "Webkassa refused a new session's token (error 2: \(expired.text))")
        }
        return second
    }

    /// The cached token, or a new one from `Authorize`.
    private func sessionToken() async throws -> String {
        if let token { return token }
        let reply = try await post("/api/v4/Authorize", WebkassaProtocol.authorizeBody(login: settings.login, password: settings.password))
        if let fresh = reply.token, reply.errors.isEmpty {
            token = fresh
            logger.debug("authorised at Webkassa")
            return fresh
        }
        let reason = reply.errors.first.map { "error \($0.code): \($0.text)" } ?? "no token in the answer"
        // Wrong credentials or a blocked account stop every document alike: keep them in order.
        logger.warning("Webkassa refused to authorise the cashier", metadata: ["fiscal.error": "\(reason)"])
        throw FiscalRegisterError(.retryable, "Webkassa did not authorise the cashier (\(reason))")
    }

    /// POSTs a JSON body and reads Webkassa's answer.
    private func post(_ path: String, _ body: [UInt8]) async throws -> WebkassaProtocol.Reply {
        let request = OutboundRequest(method: "POST", host: endpoint.host, port: endpoint.port, path: endpoint.pathPrefix + path, tls: tls,
                                      headers: [("Content-Type", "application/json"), ("Accept", "application/json"), ("X-API-KEY", settings.apiKey)],
                                      body: body, timeout: settings.requestTimeout, maxResponseBytes: 1 << 20)
        let response: OutboundResponse
        do {
            response = try await http.send(request)
        } catch let failure as OutboundHTTPError {
            throw FiscalRegisterError(.retryable, "Webkassa did not answer \(path): \(failure.description)")
        }
        if response.status >= 500 || response.status == 408 || response.status == 429 {
            throw FiscalRegisterError(.retryable, "Webkassa answered \(path) with HTTP \(response.status)")
        }
        guard let reply = WebkassaProtocol.Reply(response.body) else {
            throw FiscalRegisterError(.retryable, "Webkassa answered \(path) with HTTP \(response.status) and no JSON object")
        }
        return reply
    }
}
