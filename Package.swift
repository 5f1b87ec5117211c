// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Suyuan",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "suyuan", targets: ["suyuan"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    ],
    targets: [
        // libsodium, imported only by SuyuanCrypto.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // SHA-256, Ed25519, random, encrypted key files.
        .target(name: "SuyuanCrypto", dependencies: ["CSodium"], swiftSettings: strict),
        // JSON/JCS, DSSE PAE, signed notes, checkpoints, did:key, base64/base58: pure, no I/O.
        .target(name: "SuyuanFormats", dependencies: ["SuyuanCrypto"], swiftSettings: strict),
        // RFC 6962 hashing and proofs: pure.
        .target(name: "SuyuanMerkle", dependencies: ["SuyuanCrypto"], swiftSettings: strict),
        // Statements, entries, genesis, the append pipeline, the storage protocol, verification.
        .target(
            name: "SuyuanLedger",
            dependencies: ["SuyuanCrypto", "SuyuanFormats", "SuyuanMerkle"],
            swiftSettings: strict
        ),
        // Whole-ledger audit: streaming, parallel, independent of indexes.
        .target(
            name: "SuyuanAudit",
            dependencies: ["SuyuanLedger", "SuyuanMerkle", "SuyuanFormats", "SuyuanCrypto"],
            swiftSettings: strict
        ),
        // The supply-chain layer: EPCIS journey events, the accreditation registry, attestations,
        // three-region recognition verdicts, product verification and offline bundles.
        .target(
            name: "SuyuanTrace",
            dependencies: ["SuyuanLedger", "SuyuanFormats", "SuyuanMerkle", "SuyuanCrypto"],
            swiftSettings: strict
        ),
        // The embedded default store: one SQLite file.
        .target(
            name: "SuyuanStore",
            dependencies: ["SuyuanLedger", "SuyuanMerkle", "SuyuanCrypto", "SuyuanFormats",
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "suyuan",
            dependencies: [
                "SuyuanCrypto", "SuyuanFormats", "SuyuanMerkle", "SuyuanLedger", "SuyuanStore", "SuyuanAudit", "SuyuanTrace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "suyuan-bench",
            dependencies: ["SuyuanCrypto", "SuyuanFormats", "SuyuanMerkle", "SuyuanLedger", "SuyuanStore", "SuyuanAudit",
                           .product(name: "GRDBSQLite", package: "GRDB.swift")],
            path: "Tools/bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "suyuan-trace-bench",
            dependencies: ["SuyuanTrace", "SuyuanStore", "SuyuanLedger", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle"],
            path: "Tools/trace-bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "suyuan-vectors",
            dependencies: ["SuyuanCrypto", "SuyuanFormats", "SuyuanMerkle", "SuyuanLedger"],
            path: "Tools/vectors",
            swiftSettings: strict
        ),
        .testTarget(name: "SuyuanCryptoTests", dependencies: ["SuyuanCrypto"], swiftSettings: strict),
        .testTarget(name: "SuyuanFormatsTests", dependencies: ["SuyuanFormats", "SuyuanCrypto"], swiftSettings: strict),
        .testTarget(name: "SuyuanMerkleTests", dependencies: ["SuyuanMerkle", "SuyuanCrypto"], swiftSettings: strict),
        .testTarget(
            name: "SuyuanLedgerTests",
            dependencies: ["SuyuanLedger", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuyuanStoreTests",
            dependencies: ["SuyuanStore", "SuyuanLedger", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuyuanAuditTests",
            dependencies: ["SuyuanAudit", "SuyuanStore", "SuyuanTrace", "SuyuanLedger", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuyuanTraceTests",
            dependencies: ["SuyuanTrace", "SuyuanLedger", "SuyuanStore", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle"],
            swiftSettings: strict
        ),
        .testTarget(name: "CLITests", dependencies: ["SuyuanCrypto", "SuyuanFormats"], swiftSettings: strict),
    ]
)
