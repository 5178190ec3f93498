// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "lookout",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lookout-agent", targets: ["lookout-agent"]),
        .executable(name: "lookout", targets: ["lookout"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // No default traits: no swift-configuration, no full Foundation (~9 MB less RSS idle).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // gzip for the hub's answers (system zlib); the hub only.
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // The document model, vm_id rules, configuration and alert logic: pure, no I/O
        // beyond the one atomic file writer both sides share.
        .target(
            name: "LookoutCore",
            swiftSettings: swiftSettings
        ),
        // Everything that reads the machine: /proc, statvfs, Docker, health checks, push.
        // Its HTTP client is its own (POSIX sockets, OpenSSL loaded on demand), not
        // SwiftNIO: that keeps the agent binary small (docs/decisions.md).
        .target(
            name: "LookoutCollector",
            dependencies: [
                "LookoutCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lookout-agent",
            dependencies: [
                "LookoutCore",
                "LookoutCollector",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The hub: history store, ingest, HTTP API, notifiers, scheduling. Never imports
        // the collector; `lookout` wires the hub's own local agent.
        .target(
            name: "LookoutHub",
            dependencies: [
                "LookoutCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lookout",
            dependencies: [
                "LookoutCore",
                "LookoutCollector",
                "LookoutHub",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Micro-benchmarks of the pure parts: `swift run -c release lookout-benchmarks`.
        .executableTarget(
            name: "lookout-benchmarks",
            dependencies: ["LookoutCore"],
            path: "Benchmarks/LookoutBenchmarks",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LookoutHubTests",
            dependencies: [
                "LookoutCore",
                "LookoutHub",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LookoutCoreTests",
            dependencies: ["LookoutCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LookoutCollectorTests",
            dependencies: [
                "LookoutCore",
                "LookoutCollector",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
