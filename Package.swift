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
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        // Already required by Hummingbird; named so the server can import NIOCore, HTTPTypes and Logging explicitly.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
    ],
    targets: [
        // libsodium, imported only by SuyuanCrypto.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // Ed25519 verification against per-key precomputed tables: field and curve arithmetic, no I/O.
        .target(name: "CEd25519"),
        // SHA-256 (swift-crypto), Ed25519, random, encrypted key files (libsodium).
        .target(name: "SuyuanCrypto", dependencies: ["CSodium", "CEd25519", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
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
        // A blocking HTTP client for a Suyuan server (URLSession; libcurl at run time), with verified reads.
        .target(
            name: "SuyuanClient",
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
        // The HTTP service: JSON API, C2SP tlog-tiles, tlog-witness, health and metrics (Hummingbird).
        // It takes a `Ledger` and never names a store.
        .target(
            name: "SuyuanServer",
            dependencies: ["SuyuanLedger", "SuyuanFormats", "SuyuanMerkle", "SuyuanCrypto",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           // The HTTP/1 channel, extended with per-connection limits.
                           .product(name: "HummingbirdCore", package: "hummingbird"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Consumers on the web: product verification and offline bundles over HTTP, the GS1 Digital Link
        // resolver page that verifies bundles in the browser, QR code labels.
        .target(
            name: "SuyuanWeb",
            dependencies: ["SuyuanServer", "SuyuanTrace", "SuyuanLedger", "SuyuanFormats",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "suyuan",
            dependencies: [
                "SuyuanCrypto", "SuyuanFormats", "SuyuanMerkle", "SuyuanLedger", "SuyuanStore", "SuyuanAudit", "SuyuanTrace",
                "SuyuanServer", "SuyuanWeb", "SuyuanClient",
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
        // Load benchmark of `suyuan serve` from a second process on loopback.
        .executableTarget(
            name: "suyuan-load",
            dependencies: ["SuyuanCrypto", "SuyuanFormats", "SuyuanLedger", "SuyuanStore", "SuyuanTrace"],
            path: "Tools/load",
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
        // Crash-safety harness: SIGKILLs an appending child at random moments and checks what survived.
        .executableTarget(
            name: "suyuan-crash",
            dependencies: ["SuyuanCrypto", "SuyuanFormats", "SuyuanMerkle", "SuyuanLedger", "SuyuanStore", "SuyuanAudit"],
            path: "Tools/crash",
            swiftSettings: strict
        ),
        // Fuzz targets for every parser of outside input (library), and their libFuzzer / replay driver.
        .target(
            name: "SuyuanFuzz",
            dependencies: ["SuyuanCrypto", "SuyuanFormats", "SuyuanMerkle", "SuyuanLedger", "SuyuanTrace"],
            path: "Tools/fuzz/Targets",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "suyuan-fuzz",
            dependencies: ["SuyuanFuzz"],
            path: "Tools/fuzz/Driver",
            swiftSettings: strict
        ),
        .testTarget(name: "SuyuanCryptoTests", dependencies: ["SuyuanCrypto", "CSodium"], swiftSettings: strict),
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
            dependencies: ["SuyuanTrace", "SuyuanAudit", "SuyuanLedger", "SuyuanStore", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuyuanServerTests",
            dependencies: ["SuyuanServer", "SuyuanWeb", "SuyuanStore", "SuyuanLedger", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuyuanWebTests",
            dependencies: ["SuyuanWeb", "SuyuanServer", "SuyuanTrace", "SuyuanStore", "SuyuanLedger", "SuyuanFormats", "SuyuanCrypto",
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuyuanClientTests",
            dependencies: ["SuyuanClient", "SuyuanServer", "SuyuanStore", "SuyuanLedger", "SuyuanFormats", "SuyuanCrypto", "SuyuanMerkle",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(name: "CLITests", dependencies: ["SuyuanCrypto", "SuyuanFormats"], swiftSettings: strict),
        // Every fuzz corpus and crash file, fed to its parser: no crash, a clean refusal or a sound acceptance.
        .testTarget(name: "FuzzRegressionTests", dependencies: ["SuyuanFuzz"], swiftSettings: strict),
    ]
)
