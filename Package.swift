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
        .library(name: "Replication", targets: ["Replication"]),
        .library(name: "Domain", targets: ["Domain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
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

        // The `edgenode` command line.
        .executableTarget(
            name: "EdgeNode",
            dependencies: [
                "Replication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
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

        // `replication-torture`: a writer process that the crash-safety tests SIGKILL.
        .executableTarget(
            name: "ReplicationTorture",
            dependencies: ["Replication", .product(name: "Logging", package: "swift-log")]
        ),

        .testTarget(
            name: "ReplicationTests",
            dependencies: ["Replication", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "DomainTests",
            dependencies: ["Domain", "Replication", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "EdgeNodeTests",
            dependencies: ["Replication"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
