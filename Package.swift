// swift-tools-version: 6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Understudy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "understudy", targets: ["understudy"]),
        .executable(name: "understudy-rescue", targets: ["understudy-rescue"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CLinux"),
        // What every module stands on: the error type, file I/O, locks, counters, parallel work,
        // byte formatting, resource folders. No SQLite, no crypto, no zstd.
        .target(name: "Core", dependencies: ["CLinux"], swiftSettings: upcoming),
        // A chunk as every program stores, sends and checks it: its name (SHA-256), the pack record,
        // expand-and-verify. No SQLite: the rescue client uses it.
        .target(
            name: "ChunkFormat",
            dependencies: ["Core", "Zstd", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .target(name: "Libvirt", dependencies: ["CLibvirt"], exclude: ["ProbeSector.S"], swiftSettings: upcoming),
        .target(name: "Zstd", dependencies: ["CZstd"], swiftSettings: upcoming),
        .target(name: "Zlib", dependencies: ["CZlib"], swiftSettings: upcoming),
        .target(
            name: "BlockStore",
            dependencies: [
                "Core", "ChunkFormat", "Zstd",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: upcoming
        ),
        .target(name: "Capture", dependencies: ["Core", "ChunkFormat", "BlockStore", "Zstd", "Libvirt"], swiftSettings: upcoming),
        .target(
            name: "DiskImage",
            dependencies: ["Core", "ChunkFormat", "BlockStore", "Zstd", "Zlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        .target(
            name: "Standby",
            dependencies: [
                "Core", "ChunkFormat", "BlockStore", "DiskImage", "Libvirt",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "Schedule",
            dependencies: ["Core", "ChunkFormat", "BlockStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        // The rescue wire format, shared by the chunk service and the rescue client (docs/rescue-protocol.md).
        .target(name: "RescueProtocol", swiftSettings: upcoming),
        .target(
            name: "ChunkService",
            dependencies: [
                "Core", "ChunkFormat", "BlockStore", "RescueProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcoming
        ),
        // The process `serve` runs: scheduler, chunk service and job runner as services of one group.
        .target(
            name: "Server",
            dependencies: [
                "Core", "BlockStore", "Standby", "Schedule", "ChunkService",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // The client side of a rescue restore; no SQLite, no libvirt: it runs in the boot image.
        .target(
            name: "RescueClient",
            dependencies: [
                "Core", "ChunkFormat", "RescueProtocol", "Zstd",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "understudy-rescue",
            dependencies: ["RescueClient", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: upcoming,
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "--start-group", "-lFoundation", "-lCoreFoundation", "-l_FoundationICU", "-lFoundationEssentials", "-l_FoundationCShims", "-lFoundationInternationalization", "-l_FoundationCollections", "-lswiftSynchronization", "-Xlinker", "--end-group"])]
        ),
        .target(name: "BootImage", dependencies: ["Core"], swiftSettings: upcoming),
        .executableTarget(
            name: "understudy",
            dependencies: [
                "Core", "ChunkFormat", "BlockStore", "Capture", "DiskImage", "Standby", "Schedule", "ChunkService", "Server", "BootImage", "Libvirt",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcoming
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: upcoming),
        .testTarget(name: "BlockStoreTests", dependencies: ["Core", "ChunkFormat", "BlockStore", "Capture", "DiskImage", "Zstd", "TestSupport"], swiftSettings: upcoming),
        .testTarget(
            name: "DiskImageTests", dependencies: ["Core", "ChunkFormat", "BlockStore", "Capture", "DiskImage", "TestSupport"],
            exclude: ["FuzzCorpus"], swiftSettings: upcoming
        ),
        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt", "TestSupport"], swiftSettings: upcoming),
        .testTarget(
            name: "StandbyTests", dependencies: ["Core", "ChunkFormat", "BlockStore", "DiskImage", "Libvirt", "Standby", "TestSupport"],
            exclude: ["Snapshots"], swiftSettings: upcoming
        ),
        .testTarget(
            name: "ScheduleTests",
            dependencies: ["Core", "ChunkFormat", "Schedule", "BlockStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        .testTarget(name: "BootImageTests", dependencies: ["Core", "BootImage", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "CLITests", dependencies: ["Core", "ChunkFormat", "BlockStore", "TestSupport"], swiftSettings: upcoming),
        .testTarget(
            name: "RescueTests",
            dependencies: [
                "Core", "ChunkFormat", "BlockStore", "ChunkService", "RescueClient", "RescueProtocol", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
    ]
)
