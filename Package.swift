// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "edgenode",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "edgenode", targets: ["EdgeNode"]),
        .executable(name: "edgenode-bench", targets: ["ReplicationBenchmarks"]),
        .executable(name: "replication-torture", targets: ["ReplicationTorture"]),
        .executable(name: "edgenode-domain-bench", targets: ["DomainBenchmarks"]),
        .executable(name: "edgenode-lan-bench", targets: ["LANBenchmark"]),
        .executable(name: "edgenode-relay", targets: ["EdgeNodeRelay"]),
        .executable(name: "edgenode-relay-bench", targets: ["RelayBenchmarks"]),
        .executable(name: "edgenode-relay-propagation-bench", targets: ["RelayPropagationBenchmark"]),
        .executable(name: "edgenode-messaging-bench", targets: ["MessagingBenchmark"]),
        .library(name: "Replication", targets: ["Replication"]),
        .library(name: "Domain", targets: ["Domain"]),
        .library(name: "LocalAPI", targets: ["LocalAPI"]),
        .library(name: "EdgeNodeApp", targets: ["EdgeNodeApp"]),
        .library(name: "Relay", targets: ["Relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // TLS: already built for postgres-nio and Hummingbird; the box's relay client uses it.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The one outbound HTTP client (peers, the relay, the CLI; later payment and messaging providers).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // System libraries. The SQLite shim defines SQLITE_ENABLE_SESSION and
        // SQLITE_ENABLE_PREUPDATE_HOOK before including sqlite3.h.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CAvahi", pkgConfig: "avahi-client", providers: [.apt(["libavahi-client-dev"])]),

        // Identities, clocks, replicated tables, changesets, merge. Knows nothing about bookings.
        .target(
            name: "Replication",
            dependencies: [
                "CSQLite", "CSodium",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Shops, branches, staff, offerings, clients, availability, appointments. No HTTP, no sockets.
        .target(
            name: "Domain",
            dependencies: ["Replication", .product(name: "Logging", package: "swift-log")]
        ),

        // The demo shop that `edgenode serve --demo` seeds: a salon in Atyrau.
        .target(
            name: "DemoShop",
            dependencies: ["Domain", "Replication"]
        ),

        // The HTTP edge the box's API and the relay share: the problem+json document (with its cap
        // on listed field errors), 405 with `Allow`, and the HTTP/1.1 server below both routers
        // (header and idle timeouts, connections per client address, the decoder's refusals as
        // problem documents). Its own target so that LocalAPI and Relay, which must not import each
        // other, use one copy; it knows only Hummingbird and NIO.
        .target(
            name: "HTTPProblem",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // The local JSON API: routes, request/response types, tablet auth, error mapping. No SQL.
        .target(
            name: "LocalAPI",
            dependencies: [
                "Domain", "Replication", "HTTPProblem",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Announces the box and browses for the business's other boxes over mDNS (libavahi-client).
        // Emits addresses to try; trusts nothing it hears.
        .target(
            name: "Discovery",
            dependencies: ["CAvahi", .product(name: "Logging", package: "swift-log")]
        ),
        // The outbound HTTP port: everything the box calls (its peers, the relay, and later payment
        // and messaging providers) goes through `OutboundHTTP`, served by one long-lived
        // async-http-client with connection reuse, timeouts, cancellation and TLS settings in one place.
        // `PeerHTTP` (the request/reply shape LAN sync and the relay uplink use) sits over it here, so
        // both of those targets reach other machines through this one port.
        .target(
            name: "OutboundHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // The one configuration mechanism of the box and the relay: defaults < optional TOML file <
        // environment < flags, read against one table of documented keys; Foundation only.
        .target(name: "LayeredConfiguration"),

        // sd_notify(3) without libsystemd, shared by the box's daemon and the relay.
        .target(name: "SystemdNotify"),

        // LAN sync between the boxes of a business (docs/sync-protocol.md §12): the server side of
        // the protocol (the box's HTTP layer routes to it), the client session, one worker per peer
        // from the configuration and from Discovery's endpoints. Domain only for `Shop.apply`; no
        // HTTP server, no LocalAPI.
        .target(
            name: "LANSync",
            dependencies: [
                "Replication", "Domain", "Discovery", "OutboundHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The box's uplink to the cloud relay (docs/relay-protocol.md §11–§13): signed requests,
        // enrolment, data keys, sealed envelopes pushed and pulled, invitations issued and
        // answered, bootstrap from the relay's snapshot, the relay's clock. Speaks RelayWire's
        // bodies over OutboundHTTP; Domain only for `Shop`. No HTTP server, no LocalAPI.
        .target(
            name: "RelayUplink",
            dependencies: [
                "Replication", "Domain", "RelayWire", "OutboundHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Fiscal hand-off (docs/fiscal.md): the Webkassa register adapter over OutboundHTTP, and the
        // outbox service that hands a FiscalQueue's documents to any FiscalRegister in order.
        .target(
            name: "FiscalWebkassa",
            dependencies: ["Domain", "OutboundHTTP", .product(name: "Logging", package: "swift-log")]
        ),
        // Client messages (docs/messaging.md): one adapter per provider behind Domain's
        // `MessageTransport` port — Telegram Bot API, WhatsApp Cloud API, Mobizon and Twilio SMS,
        // and email over SMTP submission with STARTTLS (NIO + NIOSSL).
        .target(
            name: "MessagingProviders",
            dependencies: [
                "Domain", "OutboundHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "CSodium",
            ]
        ),
        .target(
            name: "FiscalOutbox",
            dependencies: [
                "Domain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The node: command line, configuration, services and their wiring. The `edgenode`
        // executable is a thin `main` over it, so tests build a whole node in-process.
        .target(
            name: "EdgeNodeApp",
            dependencies: [
                "Replication", "Domain", "LocalAPI", "DemoShop", "Discovery", "SystemdNotify", "HTTPProblem", "LayeredConfiguration",
                "RelayWire", "OutboundHTTP", "LANSync", "RelayUplink", "FiscalWebkassa", "FiscalOutbox", "MessagingProviders",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // The `edgenode` command line.
        .executableTarget(
            name: "EdgeNode",
            dependencies: ["EdgeNodeApp"]
        ),

        // The JSON bodies of the relay's HTTP API (docs/relay-protocol.md, docs/relay-openapi.yaml),
        // defined once for both ends: the relay's HTTP layer and the box's uplink, invitations and
        // bootstrap. Foundation only, so either side can use it without the other.
        .target(name: "RelayWire"),

        // Kaspi's QR merchant API (docs/kaspi.md): schemes r1 (API key), r2/r3 (client certificate),
        // its envelope and error codes, tenge amounts from minor units; over the outbound HTTP port.
        // The relay uses it as the businesses' Kaspi gateway.
        .target(name: "KaspiMerchant", dependencies: ["OutboundHTTP", .product(name: "NIOSSL", package: "swift-nio-ssl")]),

        // The cloud relay: store-and-forward of signed, end-to-end encrypted envelopes between the
        // boxes of a business (docs/relay-protocol.md). Knows Replication's wire types only — and, as
        // the businesses' Kaspi gateway (docs/kaspi.md), KaspiMerchant over the outbound HTTP port.
        .target(
            name: "Relay",
            dependencies: [
                "Replication", "RelayWire", "SystemdNotify", "HTTPProblem", "LayeredConfiguration",
                "KaspiMerchant", "OutboundHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),

        // `edgenode-relay`: a thin command line over Relay.
        .executableTarget(
            name: "EdgeNodeRelay",
            dependencies: [
                "Relay", "KaspiMerchant", "Replication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // `edgenode-relay-bench`: relay ingest against raw inserts, SQLite and PostgreSQL (docs/benchmarks.md).
        .executableTarget(
            name: "RelayBenchmarks",
            dependencies: [
                "Relay", "Replication",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // `edgenode-relay-propagation-bench`: a write on one box until another box has it through a relay,
        // against a bare push → long-poll round trip through the same relay (docs/benchmarks.md). It runs the
        // real `edgenode` and `edgenode-relay` processes, so it needs only Replication (the bare clients' envelopes).
        .executableTarget(
            name: "RelayPropagationBenchmark",
            dependencies: ["Replication"]
        ),

        // `edgenode-bench`: the replication benchmark (run in release mode, see docs/benchmarks.md).
        .executableTarget(
            name: "ReplicationBenchmarks",
            dependencies: ["Replication", .product(name: "Logging", package: "swift-log")]
        ),

        // `edgenode-domain-bench`: availability latency with a large calendar (docs/benchmarks.md).
        .executableTarget(
            name: "DomainBenchmarks",
            dependencies: ["Domain", "Replication", .product(name: "Logging", package: "swift-log")]
        ),

        // `edgenode-lan-bench`: two boxes converging over a veth link vs a raw copy (docs/benchmarks.md).
        .executableTarget(
            name: "LANBenchmark",
            dependencies: ["EdgeNodeApp", "Domain", "Replication", .product(name: "Logging", package: "swift-log")]
        ),

        // `edgenode-messaging-bench`: a busy day's 2,000 reminders through the Telegram adapter to the fake
        // Telegram, against as many bare requests to it; bookings' p99 while a running box sends (docs/benchmarks.md).
        .executableTarget(
            name: "MessagingBenchmark",
            dependencies: [
                "EdgeNodeApp", "Domain", "Replication", "MessagingProviders", "OutboundHTTP", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // `replication-torture`: a writer process that the crash-safety tests SIGKILL.
        .executableTarget(
            name: "ReplicationTorture",
            dependencies: ["Replication", .product(name: "Logging", package: "swift-log")]
        ),

        // What every test target shares: one `eventually`, one test clock, one seeded generator,
        // one way to run the real executables (`Binaries`, `run`, `ChildProcess`), `offPool`.
        .target(
            name: "TestSupport",
            dependencies: ["Replication", "Domain", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),

        .testTarget(
            name: "ReplicationTests",
            dependencies: ["TestSupport", "Replication", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "DomainTests",
            dependencies: ["TestSupport", "Domain", "Replication", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "EdgeNodeTests",
            dependencies: ["TestSupport", "Replication", "EdgeNodeApp"]
        ),
        .testTarget(
            name: "DemoShopTests",
            dependencies: ["TestSupport", "DemoShop", "Domain", "Replication", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "LocalAPITests",
            dependencies: [
                "TestSupport",
                "LocalAPI", "Domain", "Replication",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RelayTests",
            dependencies: [
                "TestSupport",
                "Relay", "RelayWire", "Replication", "SystemdNotify", "LayeredConfiguration",
                "KaspiMerchant", "OutboundHTTP",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "EdgeNodeAppTests",
            dependencies: [
                "TestSupport",
                "EdgeNodeApp", "LocalAPI", "Domain", "Replication", "Relay", "HTTPProblem", "RelayWire",
                "OutboundHTTP", "LANSync", "RelayUplink",
                "KaspiMerchant",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "OutboundHTTPTests",
            dependencies: [
                "TestSupport", "OutboundHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LayeredConfigurationTests",
            dependencies: ["LayeredConfiguration"]
        ),
        .testTarget(
            name: "FiscalTests",
            dependencies: [
                "TestSupport", "FiscalWebkassa", "FiscalOutbox", "Domain", "OutboundHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "MessagingTests",
            dependencies: [
                "TestSupport", "MessagingProviders", "Domain", "OutboundHTTP",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // LAN discovery and sync between real `edgenode` processes, each in its own network
        // namespace with its own D-Bus and avahi-daemon (root, iproute2, avahi-daemon needed).
        .testTarget(
            name: "LANTests",
            dependencies: ["TestSupport", "EdgeNodeApp", "Discovery", "Replication", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
