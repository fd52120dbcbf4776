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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CLinux"),
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .target(name: "Libvirt", dependencies: ["CLibvirt"], swiftSettings: upcoming),
        .target(name: "Zstd", dependencies: ["CZstd"], swiftSettings: upcoming),
        .target(name: "Zlib", dependencies: ["CZlib"], swiftSettings: upcoming),
        .target(
            name: "BlockStore",
            dependencies: [
                "Zstd", "CLinux",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: upcoming
        ),
        .target(name: "Capture", dependencies: ["BlockStore", "CLinux", "Libvirt"], swiftSettings: upcoming),
        .target(
            name: "DiskImage",
            dependencies: ["BlockStore", "CLinux", "Zlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        .target(
            name: "Standby",
            dependencies: [
                "BlockStore", "DiskImage", "Libvirt",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "Schedule",
            dependencies: ["BlockStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        .target(name: "BootImage", dependencies: ["BlockStore"], swiftSettings: upcoming),
        .executableTarget(
            name: "understudy",
            dependencies: [
                "BlockStore", "Capture", "DiskImage", "Standby", "Schedule", "BootImage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcoming
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: upcoming),
        .testTarget(name: "BlockStoreTests", dependencies: ["BlockStore", "Capture", "DiskImage", "Zstd", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "DiskImageTests", dependencies: ["BlockStore", "Capture", "DiskImage", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "StandbyTests", dependencies: ["BlockStore", "DiskImage", "Standby", "TestSupport"], swiftSettings: upcoming),
        .testTarget(
            name: "ScheduleTests",
            dependencies: ["Schedule", "BlockStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        .testTarget(name: "BootImageTests", dependencies: ["BootImage", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "CLITests", dependencies: ["BlockStore", "TestSupport"], swiftSettings: upcoming),
    ]
)
