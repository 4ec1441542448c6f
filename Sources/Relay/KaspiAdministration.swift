import Foundation
import KaspiMerchant
import Logging
import OutboundHTTP
import Replication

/// What `edgenode-relay kaspi …` does (docs/kaspi.md §5): the operator stores a business's Kaspi
/// access at the relay, sealed with the relay's Kaspi key, and looks at what is stored without
/// seeing its secrets. Opens the configured storage (migrating it) for the one operation.
public enum KaspiAdministration {
    /// Stores `access` for `business`, replacing any before it.
    /// - Throws: `KaspiError` when the access is incomplete, `RelayConfigurationError` without a Kaspi key.
    public static func set(_ access: KaspiAccess, business: BusinessID, configuration: RelayConfiguration, logger: Logger) async throws {
        try await withGateway(configuration, logger) { try await $0.setAccess(access, business: business) }
    }

    /// What is stored for `business`; nil when nothing is.
    public static func show(business: BusinessID, configuration: RelayConfiguration, logger: Logger) async throws -> KaspiAccessSummary? {
        try await withGateway(configuration, logger) { try await $0.accessSummary(business: business) }
    }

    static func withGateway<T: Sendable>(_ configuration: RelayConfiguration, _ logger: Logger,
                                        _ body: @escaping @Sendable (any KaspiAccessKeeper) async throws -> T) async throws -> T {
        let settings = try configuration.kaspiSettings()
        guard settings.sealingKey != nil else {
            throw RelayConfigurationError("kaspi_key_file is not set: the relay needs its Kaspi key to store a business's access (edgenode-relay kaspi new-key)")
        }
        switch configuration.effectiveStorage {
        case .sqlite(let path):
            let storage = try SQLiteRelayStorage(path: path, logger: logger)
            try await storage.migrate()
            return try await body(KaspiGateway(storage: storage, settings: settings, http: HTTPClientOutbound.shared, logger: logger))
        case .postgres(let url):
            let storage = PostgresRelayStorage(configuration: try PostgresRelayStorage.configuration(url: url), logger: logger)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await storage.run(); return nil }
                defer { group.cancelAll() }
                try await storage.migrate()
                return try await body(KaspiGateway(storage: storage, settings: settings, http: HTTPClientOutbound.shared, logger: logger))
            }
        }
    }
}

/// The gateway's operator side, whatever its storage.
protocol KaspiAccessKeeper: Sendable {
    func setAccess(_ access: KaspiAccess, business: BusinessID) async throws
    func accessSummary(business: BusinessID) async throws -> KaspiAccessSummary?
}

extension KaspiGateway: KaspiAccessKeeper {}
