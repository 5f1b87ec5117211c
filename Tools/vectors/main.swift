// Generates Specs/vectors/ledger.json: a small ledger built from fixed keys and times, with every
// intermediate value (statement bytes, PAE, signatures, entry bytes, leaf hashes, roots, proofs,
// checkpoint) and invalid variants that a verifier must refuse. Deterministic: running it again
// produces the same file. Usage: swift run suyuan-vectors [OUT] (default Specs/vectors/ledger.json).
import Foundation
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

func key(_ byte: UInt8) -> SecretKey { SecretKey(seed: [UInt8](repeating: byte, count: 32))! }
func s(_ x: String) -> JSONValue { .string(x) }
func n(_ x: UInt64) -> JSONValue { .number(Double(x)) }
func text(_ b: [UInt8]) -> JSONValue { .string(String(decoding: b, as: UTF8.self)) }

let origin = "vectors.suyuan.example/ledger"
let op = key(0x01), gd = key(0x02), hk = key(0x03), mo = key(0x04)
let names: [(String, SecretKey, String)] = [
    ("operator", op, origin), ("GD", gd, "gd.regulator.example"), ("HK", hk, "hk.regulator.example"), ("MO", mo, "mo.regulator.example"),
]
let vkeys = Dictionary(uniqueKeysWithValues: names.map { ($0.0, try! VerifierKey(name: $0.2, publicKey: $0.1.publicKey)) })
let genesis = try Genesis(origin: origin, operatorKey: vkeys["operator"]!, regulators: [.GD: vkeys["GD"]!, .HK: vkeys["HK"]!, .MO: vkeys["MO"]!])

let t0 = Timestamp(parsing: "2026-11-01T08:00:00.000Z")!
let fixedNow = t0.adding(seconds: 5)
let store = MemoryLedgerStore()
let clock: Clock = { fixedNow }

var statements: [SignedStatement] = []
statements.append(try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: t0).sign(with: op))
let notices: [(SecretKey, Notice)] = [
    (gd, try Notice(level: "warning", title: "婴幼儿配方奶粉风险警示", text: "Lot NZ-2026-118 of imported infant formula is under investigation for melamine; do not use.",
                    products: ["https://id.gs1.org/01/09421902960055/10/NZ-2026-118"], categories: ["infant-formula"])),
    (hk, try Notice(level: "notice", title: "HKAS scope update", text: "Cosmetics microbiology (ISO 21149) added to mutual recognition.")),
    (mo, try Notice(level: "notice", title: "Aviso", text: "Temperatura de transporte: 2–8 °C.", categories: ["cold-chain"])),
]
for (i, (k, nt)) in notices.enumerated() {
    statements.append(try Statement(kind: Notice.kind, payload: nt.payload, signer: k.publicKey, time: t0.adding(seconds: Int64(i + 1))).sign(with: k))
}
let ledger = try Ledger.create(in: store, genesis: statements[0], clock: clock)
_ = try ledger.appendAll(Array(statements.dropFirst()))
let cp = try ledger.checkpoint(signer: NoteSigner(name: origin, key: op))

let stored = try store.entries(from: 0, count: 100)
var entries: [JSONValue] = []
for (i, e) in stored.enumerated() {
    let st = statements[i]
    entries.append(.object([
        "index": n(UInt64(i)),
        "statement": text(st.canonical),
        "paeHex": s(Hex.encode(DSSE.pae(type: Statement.payloadType, body: st.canonical))),
        "signature": s(Base64.encode(st.signature)),
        "envelope": text(Array(try st.envelope.canonicalString().utf8)),
        "entry": text(e.bytes),
        "leafHash": s(e.leafHash.hex),
    ]))
}
let size = UInt64(stored.count)
var roots: [JSONValue] = []
for k in 1...size { roots.append(.object(["size": n(k), "root": s(try ledger.root(size: k).hex)])) }
var inclusion: [JSONValue] = []
for i in 0..<size {
    inclusion.append(.object(["index": n(i), "size": n(size), "proof": .array(try ledger.inclusionProof(index: i, size: size).map { s($0.hex) })]))
}
var consistency: [JSONValue] = []
for m in 1..<size {
    consistency.append(.object(["from": n(m), "to": n(size), "proof": .array(try ledger.consistencyProof(from: m, to: size).map { s($0.hex) })]))
}

// Invalid variants of entry 1 that a verifier must refuse.
let e1 = try Entry(parsing: stored[1].bytes)
func variant(_ desc: String, _ bytes: [UInt8], _ why: String) -> JSONValue {
    .object(["desc": s(desc), "index": n(1), "entry": text(bytes), "wantErr": s(why)])
}
let e1Text = String(decoding: stored[1].bytes, as: UTF8.self)
var badSig = e1.signed.signature; badSig[0] ^= 0x01
let forgedByOperator = try Statement(kind: Notice.kind, payload: notices[0].1.payload, signer: op.publicKey, time: t0.adding(seconds: 1)).sign(with: op)
let invalid: [JSONValue] = [
    variant("prev is not the leaf hash of entry 0", Entry(index: 1, prev: Hash.zero, recordedAt: e1.recordedAt, signed: e1.signed).bytes, "chain"),
    variant("index does not match the position", Entry(index: 2, prev: e1.prev, recordedAt: e1.recordedAt, signed: e1.signed).bytes, "index"),
    variant("signature bit flipped", Entry(index: 1, prev: e1.prev, recordedAt: e1.recordedAt,
            signed: try SignedStatement(canonical: e1.signed.canonical, signature: badSig)).bytes, "signature"),
    variant("notice signed by the operator, who is not a regulator", Entry(index: 1, prev: e1.prev, recordedAt: e1.recordedAt, signed: forgedByOperator).bytes, "unauthorized"),
    variant("not canonical: a space after the first colon", Array(e1Text.replacingOccurrences(of: "{\"index\":1", with: "{\"index\": 1").utf8), "canonical"),
    variant("recordedAt without milliseconds", Array(e1Text.replacingOccurrences(of: e1.recordedAt.millisecondString, with: e1.recordedAt.secondString).utf8), "canonical"),
]

var keys: [String: JSONValue] = [:]
for (label, k, _) in names {
    keys[label] = .object([
        "seedHex": s(Hex.encode(k.seedBytes())), "publicKeyHex": s(Hex.encode(k.publicKey.bytes)),
        "vkey": s(vkeys[label]!.description), "did": s(DIDKey.encode(k.publicKey)),
    ])
}

let doc: JSONValue = .object([
    "description": s("Suyuan ledger format v1 vectors (Specs/ledger.md). Generated by Tools/vectors; do not edit by hand."),
    "payloadType": s(Statement.payloadType),
    "origin": s(origin),
    "keys": .object(keys),
    "entries": .array(entries),
    "roots": .array(roots),
    "checkpoint": text(cp.note),
    "inclusion": .array(inclusion),
    "consistency": .array(consistency),
    "invalidEntries": .array(invalid),
])
let out = CommandLine.arguments.dropFirst().first ?? "Specs/vectors/ledger.json"
try Data((doc.prettyPrinted() + "\n").utf8).write(to: URL(fileURLWithPath: out))
print("wrote \(out): \(entries.count) entries, \(invalid.count) invalid variants, checkpoint at size \(size)")
