import Foundation
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore

/// Keys and statements for building test ledgers.
struct Fixture {
    let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    let gd = SecretKey(seed: [UInt8](repeating: 2, count: 32))!
    let hk = SecretKey(seed: [UInt8](repeating: 3, count: 32))!
    let mo = SecretKey(seed: [UInt8](repeating: 4, count: 32))!
    let stranger = SecretKey(seed: [UInt8](repeating: 9, count: 32))!
    let origin = "test.suyuan.example/ledger"

    var genesis: Genesis {
        try! Genesis(
            origin: origin, operatorKey: try! VerifierKey(name: origin, publicKey: op.publicKey),
            regulators: [
                .GD: try! VerifierKey(name: "gd.example", publicKey: gd.publicKey),
                .HK: try! VerifierKey(name: "hk.example", publicKey: hk.publicKey),
                .MO: try! VerifierKey(name: "mo.example", publicKey: mo.publicKey),
            ])
    }

    func genesisStatement(at time: Timestamp) -> SignedStatement {
        try! Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: time).sign(with: op)
    }

    func notice(_ n: Int, by key: SecretKey? = nil, at time: Timestamp) -> SignedStatement {
        let notice = try! Notice(level: "notice", title: "Notice \(n)", text: "Text of notice \(n)", categories: ["cat-\(n % 7)"])
        let k = key ?? gd
        return try! Statement(kind: Notice.kind, payload: notice.payload, signer: k.publicKey, time: time).sign(with: k)
    }

    var signer: NoteSigner { try! NoteSigner(name: origin, key: op) }
}

/// A controllable clock.
final class TestClock: Sendable {
    private let now = Mutex(Timestamp(parsing: "2026-11-28T10:00:00.000Z")!)
    var clock: Clock { { self.now.withLock { $0 } } }
    var current: Timestamp { now.withLock { $0 } }
    func advance(seconds: Int64) { now.withLock { $0 = $0.adding(seconds: seconds) } }
}

/// A temporary directory removed at deinit.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "suyuan-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// The two store implementations the conformance suite runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, sqlite
    var testDescription: String { rawValue }
}

/// Makes a fresh, empty store of the given kind (keeping its temp dir alive).
final class StoreHandle {
    let store: any LedgerStore
    let dir = TempDir()
    init(_ kind: StoreKind) {
        switch kind {
        case .memory: store = MemoryLedgerStore()
        case .sqlite: store = try! SQLiteLedgerStore(path: dir.file("ledger.db"), create: true)
        }
    }
}

import Testing
