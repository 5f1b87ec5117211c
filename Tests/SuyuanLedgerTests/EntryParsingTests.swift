import Foundation
import Testing
@testable import SuyuanLedger
import SuyuanCrypto
import SuyuanFormats

/// `Entry(parsing:)` reads stored entries through a fast path that skips parsing the outer object; it
/// must accept exactly what the general parser accepts, and give the same entry.
@Suite struct EntryParsingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every entry of the published ledger vectors, valid and invalid.
    func vectorEntries() throws -> [[UInt8]] {
        let doc = try JSONValue.parse([UInt8](Data(contentsOf: Self.root.appendingPathComponent("Specs/vectors/ledger.json"))))
        return (doc["entries"]!.arrayValue! + doc["invalidEntries"]!.arrayValue!).map { Array($0["entry"]!.stringValue!.utf8) }
    }

    func agree(_ bytes: [UInt8]) {
        let general = Result { () throws(LedgerError) in try Entry.parseGeneral(bytes) }
        let fast = Entry.parseCanonicalLayout(bytes)
        switch general {
        case .success(let e):
            #expect(fast == e, "the fast path must accept what the general parser accepts: \(String(decoding: bytes, as: UTF8.self))")
        case .failure:
            #expect(fast == nil, "the fast path accepted what the general parser refuses: \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    @Test func bothParsersAgreeOnTheVectors() throws {
        let entries = try vectorEntries()
        #expect(entries.count >= 8)
        for b in entries { agree(b) }
        // The valid ones do take the fast path.
        #expect(Entry.parseCanonicalLayout(entries[0]) != nil)
    }

    /// Every single-byte change, deletion and insertion of a printable byte at each position of a
    /// valid entry (a few thousand variants): both parsers give the same answer.
    @Test func bothParsersAgreeOnEveryOneByteMutation() throws {
        let valid = try vectorEntries()[1]
        let replacements: [UInt8] = Array("0 9a\"\\{}:,.-Z+/=e".utf8) + [0x00, 0x7F, 0xC3]
        var variants = 0
        for i in 0..<valid.count {
            var deleted = valid; deleted.remove(at: i); agree(deleted)
            for r in replacements where valid[i] != r {
                var changed = valid; changed[i] = r; agree(changed)
                var inserted = valid; inserted.insert(r, at: i); agree(inserted)
                variants += 2
            }
        }
        #expect(variants > 1000)
    }

    @Test func structuralEdgeCasesFallBackToTheGeneralParser() throws {
        let valid = try vectorEntries()[1]
        let text = String(decoding: valid, as: UTF8.self)
        // Whitespace, reordered keys, a leading zero, a trailing byte: not canonical, refused by both.
        for bad in [text.replacingOccurrences(of: "\"index\":", with: "\"index\": "),
                    text.replacingOccurrences(of: "{\"index\":", with: "{\"index\":0"),
                    text + " ", " " + text,
                    text.replacingOccurrences(of: ",\"prev\":", with: ",\"prev\" :")] {
            agree(Array(bad.utf8))
            #expect(throws: LedgerError.self) { try Entry(parsing: Array(bad.utf8)) }
        }
    }
}
