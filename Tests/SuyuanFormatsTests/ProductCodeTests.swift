import SuyuanFormats
import Testing

private func code(_ text: String) throws -> ProductCode {
    try ProductCode(parsing: text)
}

private func failure(_ text: String) -> ProductCodeError? {
    do {
        _ = try ProductCode(parsing: text)
        return nil
    } catch {
        return error
    }
}

@Suite("ProductCode")
struct ProductCodeTests {
    // MARK: Check digits

    @Test func checkDigits() throws {
        #expect(GS1.checkDigit("0942190296005") == 5)
        #expect(GS1.checkDigit("400638133393") == 1)
        #expect(GS1.checkDigit("61414112345") == 2)
        #expect(GS1.checkDigit("10614141123456789") == 7)
        #expect(GS1.checkDigit("061414100000") == 5)
        #expect(GS1.checkDigit("9638507") == 4)
        #expect(GS1.checkDigit("") == 0)
        for key in ["09421902960055", "4006381333931", "614141123452", "106141411234567897", "0614141000005",
                    "96385074", "00614141123452"] {
            #expect(GS1.isValid(key), "\(key)")
        }
        for key in ["09421902960056", "4006381333932", "", "5", "0942190296005X", " 4006381333931"] {
            #expect(!GS1.isValid(key), "\(key)")
        }
        #expect(GS1.isCharacterSet82("A") && GS1.isCharacterSet82("_") && GS1.isCharacterSet82("\""))
        #expect(!GS1.isCharacterSet82("#") && !GS1.isCharacterSet82(" ") && !GS1.isCharacterSet82("é")
            && !GS1.isCharacterSet82("~") && !GS1.isCharacterSet82("@"))
    }

    // MARK: Canonical keys

    @Test func itemFromAllThreeForms() throws {
        let forms = [
            "https://id.gs1.org/01/09421902960055/21/ABC123",
            "http://example.com/01/09421902960055/10/L1/21/ABC123",
            "https://brand.example/some/prefix/01/9421902960055/21/ABC123?17=250101&linkType=gs1:pip#x",
            "(01)09421902960055(21)ABC123",
            "(01)09421902960055(10)L1(21)ABC123",
            "urn:epc:id:sgtin:9421902.096005.ABC123",
            "urn:epc:id:sgtin:942190296.0005.ABC123",
            "  \turn:epc:id:sgtin:9421902.096005.ABC123\n",
        ]
        for form in forms {
            let parsed = try code(form)
            #expect(parsed.kind == .item, "\(form)")
            #expect(parsed.canonical == "https://id.gs1.org/01/09421902960055/21/ABC123", "\(form)")
            #expect(parsed.gtin == "09421902960055")
            #expect(parsed.serial == "ABC123")
            #expect(parsed.description == parsed.canonical)
        }
        let withLot = try code("(01)09421902960055(10)L1(21)ABC123")
        #expect(withLot.lot == "L1")
        #expect(withLot.lotKey == "https://id.gs1.org/01/09421902960055/10/L1")
        #expect(withLot.classKey == "https://id.gs1.org/01/09421902960055")
        #expect(try code("(01)09421902960055(21)ABC123").lotKey == nil)
        // Same canonical key, but the lot is a separate property, so the values differ.
        #expect(withLot != (try code("(01)09421902960055(21)ABC123")))
        #expect(withLot == (try code("https://id.gs1.org/01/09421902960055/10/L1/21/ABC123")))
    }

    @Test func gtinPadding() throws {
        #expect(try code("(01)4006381333931").canonical == "https://id.gs1.org/01/04006381333931")
        #expect(try code("https://id.gs1.org/01/614141123452").gtin == "00614141123452")
        #expect(try code("https://id.gs1.org/01/96385074").gtin == "00000096385074")
        #expect(try code("(01)00614141123452").kind == .productClass)
        #expect(try code("urn:epc:id:sgtin:0614141.012345.1").canonical == "https://id.gs1.org/01/00614141123452/21/1")
    }

    @Test func lotLevel() throws {
        for form in ["https://id.gs1.org/01/04006381333931/10/B-7", "(01)4006381333931(10)B-7",
                     "urn:epc:class:lgtin:4006381.033393.B-7", "URN:EPC:CLASS:LGTIN:4006381.033393.B-7"] {
            let parsed = try code(form)
            #expect(parsed.kind == .lot, "\(form)")
            #expect(parsed.canonical == "https://id.gs1.org/01/04006381333931/10/B-7", "\(form)")
            #expect(parsed.lotKey == parsed.canonical)
            #expect(parsed.serial == nil)
        }
    }

    @Test func cpvIsKeptButNotKeyed() throws {
        let parsed = try code("https://id.gs1.org/01/09421902960055/22/RED/10/L1")
        #expect(parsed.cpv == "RED")
        #expect(parsed.canonical == "https://id.gs1.org/01/09421902960055/10/L1")
        #expect(try code("(01)09421902960055(22)RED").canonical == "https://id.gs1.org/01/09421902960055")
        #expect(try code("(01)09421902960055(22)RED").kind == .productClass)
    }

    @Test func logisticUnit() throws {
        for form in ["https://id.gs1.org/00/106141411234567897", "(00)106141411234567897",
                     "urn:epc:id:sscc:0614141.1123456789", "urn:epc:id:sscc:061414112.13456789"] {
            let parsed = try code(form)
            #expect(parsed.kind == .logisticUnit, "\(form)")
            #expect(parsed.sscc == "106141411234567897")
            #expect(parsed.canonical == "https://id.gs1.org/00/106141411234567897", "\(form)")
        }
    }

    @Test func location() throws {
        for form in ["https://id.gs1.org/414/0614141000005", "(414)0614141000005", "urn:epc:id:sgln:0614141.00000.0"] {
            let parsed = try code(form)
            #expect(parsed.kind == .location, "\(form)")
            #expect(parsed.canonical == "https://id.gs1.org/414/0614141000005", "\(form)")
            #expect(parsed.glnExtension == nil)
        }
        for form in ["https://id.gs1.org/414/0614141000005/254/5678", "(414)0614141000005(254)5678",
                     "(254)5678(414)0614141000005", "urn:epc:id:sgln:0614141.00000.5678"] {
            let parsed = try code(form)
            #expect(parsed.canonical == "https://id.gs1.org/414/0614141000005/254/5678", "\(form)")
            #expect(parsed.glnExtension == "5678")
        }
        #expect(failure("urn:epc:id:sgln:061414100000..") == .emptyValue(field: "GLN extension"))
        #expect(try code("urn:epc:id:sgln:061414100000..0").canonical == "https://id.gs1.org/414/0614141000005")
    }

    // MARK: Percent-encoding

    @Test func percentEncoding() throws {
        let parsed = try code("https://id.gs1.org/01/09421902960055/21/A%2Fb%25c%3F%22")
        #expect(parsed.serial == "A/b%c?\"")
        #expect(parsed.canonical == "https://id.gs1.org/01/09421902960055/21/A%2Fb%25c%3F%22")
        #expect(try code("https://id.gs1.org/01/09421902960055/21/a%2fb").serial == "a/b")
        #expect(try code("urn:epc:id:sgtin:9421902.096005.A%2Fb%25c%3F%22") == parsed)
        #expect(try code("(01)09421902960055(21)A/b%c?\"") == parsed)
        // Canonical encoding escapes everything but A-Z a-z 0-9 - . _
        let all = try code("(01)09421902960055(21)!&'()*+,:;<=>")
        #expect(all.canonical == "https://id.gs1.org/01/09421902960055/21/%21%26%27%28%29%2A%2B%2C%3A%3B%3C%3D%3E")
        #expect(try code(all.canonical) == all)
        #expect(try code("(01)09421902960055(10)a-b.c_D").canonical == "https://id.gs1.org/01/09421902960055/10/a-b.c_D")
        #expect(failure("https://id.gs1.org/01/09421902960055/21/AB%2") == .badPercentEncoding("AB%2"))
        #expect(failure("https://id.gs1.org/01/09421902960055/21/AB%zz") == .badPercentEncoding("AB%zz"))
        #expect(failure("urn:epc:id:sgtin:9421902.096005.A%G1") == .badPercentEncoding("A%G1"))
        #expect(failure("https://id.gs1.org/01/09421902960055/21/A%20B")
            == .invalidCharacter(field: "serial", value: "A B", character: " "))
    }

    // MARK: Errors

    @Test func wrongCheckDigit() throws {
        let error = failure("https://id.gs1.org/01/09421902960056/21/X")
        #expect(error == .wrongCheckDigit(key: "GTIN", value: "09421902960056", found: 6, expected: 5))
        #expect(error?.description == "GTIN 09421902960056 has check digit 6; expected 5")
        #expect(failure("(01)4006381333932")?.description == "GTIN 4006381333932 has check digit 2; expected 1")
        #expect(failure("(00)106141411234567890")?.description == "SSCC 106141411234567890 has check digit 0; expected 7")
        #expect(failure("(414)0614141000006")?.description == "GLN 0614141000006 has check digit 6; expected 5")
    }

    @Test func keyShapeErrors() throws {
        #expect(failure("(01)123456") == .wrongLength(key: "GTIN", value: "123456", expected: [8, 12, 13, 14]))
        #expect(failure("(01)123456")?.description == "GTIN 123456 has 6 digits; expected 8, 12, 13 or 14")
        #expect(failure("(00)10614141123456789")?.description == "SSCC 10614141123456789 has 17 digits; expected 18")
        #expect(failure("(414)00614141000005") == .wrongLength(key: "GLN", value: "00614141000005", expected: [13]))
        #expect(failure("(01)0942190296005A")
            == .nonDigit(key: "GTIN", value: "0942190296005A", character: "A"))
        #expect(failure("https://id.gs1.org/01/0942190296%2D005")
            == .nonDigit(key: "GTIN", value: "0942190296-005", character: "-"))
    }

    @Test func serialErrors() throws {
        let bad = failure("(01)09421902960055(21)AB#1")
        #expect(bad == .invalidCharacter(field: "serial", value: "AB#1", character: "#"))
        #expect(bad?.description == "serial \"AB#1\" contains '#', which is not in the GS1 AI encodable character set 82")
        #expect(failure("https://id.gs1.org/01/09421902960055/21/caf%C3%A9")
            == .invalidCharacter(field: "serial", value: "café", character: "é"))
        #expect(failure("(01)09421902960055(21)caf\u{E9}")?.description.contains("U+00E9") == true)
        #expect(failure("(01)09421902960055(10)a~b") == .invalidCharacter(field: "lot", value: "a~b", character: "~"))
        let long = String(repeating: "A", count: 21)
        #expect(failure("(01)09421902960055(21)" + long) == .tooLong(field: "serial", value: long, length: 21, maximum: 20))
        #expect(failure("(01)09421902960055(21)" + long)?.description
            == "serial \"\(long)\" is 21 characters long; at most 20 are allowed")
        #expect(try code("(01)09421902960055(21)" + String(long.dropFirst())).serial?.count == 20)
        #expect(failure("urn:epc:id:sgtin:9421902.096005." + long)?.description.contains("21 characters") == true)
        #expect(failure("(01)09421902960055(21)") == .emptyValue(field: "serial"))
        #expect(failure("urn:epc:id:sgtin:9421902.096005.") == .emptyValue(field: "serial"))
        #expect(failure("(414)0614141000005(254)a b") == .invalidCharacter(field: "GLN extension", value: "a b", character: " "))
    }

    @Test func digitalLinkStructure() throws {
        #expect(failure("https://id.gs1.org/01/09421902960055/21/S/10/L") == .aiOutOfOrder(ai: "10", after: "21"))
        #expect(failure("https://id.gs1.org/01/09421902960055/10/L/22/V") == .aiOutOfOrder(ai: "22", after: "10"))
        #expect(failure("https://id.gs1.org/01/09421902960055/21/S/10/L")?.description
            == "Application Identifier (10) must come before (21) in a Digital Link path; the order is 01, 22, 10, 21 (and 414, 254)")
        #expect(failure("https://id.gs1.org/01/09421902960055/21/S/21/T") == .duplicateAI("21"))
        #expect(failure("https://id.gs1.org/01/09421902960055/17/250101") == .unknownAI("17"))
        #expect(failure("https://id.gs1.org/01/09421902960055/17/250101")?.description
            == "unsupported GS1 Application Identifier (17); accepted: 00, 01, 10, 21, 22, 254, 414")
        #expect(failure("https://id.gs1.org/01/09421902960055/21") != nil)
        #expect(failure("https://id.gs1.org/01/09421902960055/21/S/") != nil)
        #expect(failure("https://id.gs1.org/01//21/S") != nil)
        #expect(failure("https://id.gs1.org/01/09421902960055/foo/bar") != nil)
        #expect(failure("https://id.gs1.org/") == .missingPrimaryKey)
        #expect(failure("https://id.gs1.org") == .missingPrimaryKey)
        #expect(failure("https://id.gs1.org/17/250101/10/L") == .missingPrimaryKey)
        #expect(failure("https:///01/09421902960055") == .malformedDigitalLink(uri: "https:///01/09421902960055", reason: "no host"))
        #expect(failure("https://id.gs1.org/01/09421902960055/254/1") != nil)
        #expect(failure("https://id.gs1.org/00/106141411234567897/21/1") != nil)
        #expect(failure("https://id.gs1.org/01/09421902960055/00/106141411234567897") != nil)
        #expect(try code("HTTPS://id.gs1.org/01/09421902960055").kind == .productClass)
    }

    @Test func elementStringStructure() throws {
        #expect(failure("(01)09421902960055(17)250101") == .unknownAI("17"))
        #expect(failure("(01)09421902960055(21)A(21)B") == .duplicateAI("21"))
        #expect(failure("(10)L1") == .missingPrimaryKey)
        #expect(failure("(10)L1")?.description == "no GS1 primary key: expected (01) GTIN, (00) SSCC or (414) GLN")
        #expect(failure("(00)106141411234567897(01)09421902960055") != nil)
        #expect(failure("(00)106141411234567897(10)L") != nil)
        #expect(failure("(414)0614141000005(21)S") != nil)
        #expect(failure("(01)09421902960055(254)X") != nil)
        #expect(failure("(01)") == .emptyValue(field: "GTIN"))
        #expect(failure("(1)09421902960055") != nil)
        #expect(failure("(01 09421902960055") != nil)
        // Element strings are unordered; parentheses not forming an AI are part of the value.
        #expect(try code("(21)ABC123(01)09421902960055").canonical == "https://id.gs1.org/01/09421902960055/21/ABC123")
        #expect(try code("(01)09421902960055(21)A(B)C").serial == "A(B)C")
        #expect(try code("(01)09421902960055(21)A(1)C").serial == "A(1)C")
    }

    @Test func epcErrors() throws {
        #expect(failure("urn:epc:id:sgtin:9421902.09600.ABC") != nil)  // 7 + 5 = 12 digits
        #expect(failure("urn:epc:id:sgtin:9421902.09600.ABC")?.description
            == "malformed EPC URN \"urn:epc:id:sgtin:9421902.09600.ABC\": company prefix (7 digits) + indicator and item reference (5 digits) must total 13 digits, not 12")
        #expect(failure("urn:epc:id:sgtin:9421902.0960055.ABC") != nil)  // 14
        #expect(failure("urn:epc:id:sgtin:94219.09600550.ABC") != nil)   // prefix too short
        #expect(failure("urn:epc:id:sgtin:942190296005..ABC") != nil)    // empty reference
        #expect(try code("urn:epc:id:sgtin:942190296005.0.ABC").gtin == "09421902960055")
        #expect(failure("urn:epc:id:sgtin:9421902.096005") != nil)
        #expect(failure("urn:epc:id:sgtin:9421902.09600A.1") != nil)
        #expect(failure("urn:epc:id:sscc:0614141.112345678") != nil)       // 16 digits
        #expect(failure("urn:epc:id:sscc:0614141.1123456789.1") != nil)
        #expect(failure("urn:epc:id:sgln:0614141.0000.0") != nil)          // 11 digits
        #expect(failure("urn:epc:id:giai:0614141.12345") == .unsupportedEPCScheme("urn:epc:id:giai"))
        #expect(failure("urn:epc:tag:sgtin-96:3.0614141.812345.6789") == .unsupportedEPCScheme("urn:epc:tag:sgtin-96"))
        // The serial is the last component, so it may contain '.'.
        #expect(try code("urn:epc:id:sgtin:9421902.096005.A.B").serial == "A.B")
    }

    @Test func emptyAndGarbage() throws {
        #expect(failure("") == .empty)
        #expect(failure("   \n\t") == .empty)
        #expect(failure("")?.description == "empty product code")
        #expect(failure("hello world") == .unrecognisedForm("hello world"))
        #expect(failure("09421902960055") == .unrecognisedForm("09421902960055"))
        #expect(failure("ftp://id.gs1.org/01/09421902960055") != nil)
        #expect(failure("()") != nil)
        #expect(failure("(((") != nil)
        #expect(failure("urn:isbn:0451450523") != nil)
    }

    // MARK: Property: the three forms agree

    @Test func randomFormsAgree() throws {
        var rng = SplitMix64(seed: 0x5EED_6511)
        let charset82 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!\"%&'()*+,-./:;<=>?_")
        #expect(charset82.count == 82)
        var checked = 0
        while checked < 1000 {
            var body = ""
            for _ in 0..<13 { body += String(Int.random(in: 0...9, using: &rng)) }
            let gtin = body + String(GS1.checkDigit(body))
            var serial = ""
            for _ in 0..<Int.random(in: 1...20, using: &rng) { serial.append(charset82.randomElement(using: &rng)!) }
            // "(" + 2–4 digits + ")" inside a value cannot be written as an element string (Specs/product-codes.md).
            if containsAIPattern(serial) { continue }
            checked += 1

            let element = "(01)" + gtin + "(21)" + serial
            let uppercaseHex = Bool.random(using: &rng)
            let digitalLink = "https://example.org/01/" + gtin + "/21/"
                + encode(serial, escaping: Set("%/?#\""), uppercase: uppercaseHex)
            let prefixLength = Int.random(in: 6...12, using: &rng)
            let digits = Array(gtin)
            let companyPrefix = String(digits[1..<(1 + prefixLength)])
            let itemReference = String(digits[0]) + String(digits[(1 + prefixLength)..<13])
            let urn = "urn:epc:id:sgtin:" + companyPrefix + "." + itemReference + "."
                + encode(serial, escaping: Set("\"%&/<>?"), uppercase: true)

            let fromElement = try code(element)
            let fromLink = try code(digitalLink)
            let fromURN = try code(urn)
            #expect(fromElement == fromLink, "\(element) vs \(digitalLink)")
            #expect(fromElement == fromURN, "\(element) vs \(urn)")
            #expect(fromElement.gtin == gtin && fromElement.serial == serial)
            #expect(try code(fromElement.canonical) == fromElement)
        }
    }
}

private func containsAIPattern(_ text: String) -> Bool {
    let chars = Array(text)
    for start in chars.indices where chars[start] == "(" {
        var j = start + 1
        while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
        if j < chars.count, chars[j] == ")", (2...4).contains(j - start - 1) { return true }
    }
    return false
}

private func encode(_ text: String, escaping: Set<Character>, uppercase: Bool) -> String {
    var out = ""
    for character in text {
        if escaping.contains(character) {
            let hex = String(character.asciiValue!, radix: 16, uppercase: uppercase)
            out += "%" + (hex.count == 1 ? "0" + hex : hex)
        } else {
            out.append(character)
        }
    }
    return out
}
