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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The document model, vm_id rules, configuration and alert logic: pure, no I/O
        // beyond the one atomic file writer both sides share.
        .target(
            name: "LookoutCore",
            swiftSettings: swiftSettings
        ),
        // Everything that reads the machine: /proc, statvfs, Docker, health checks, push.
        .target(
            name: "LookoutCollector",
            dependencies: [
                "LookoutCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
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
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
