/// DSSE v1 pre-authentication encoding and envelopes (https://github.com/secure-systems-lab/dsse).
public enum DSSE {
    /// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as ASCII decimal byte counts.
    public static func pae(type: String, body: [UInt8]) -> [UInt8] {
        let t = Array(type.utf8)
        var out = [UInt8]()
        out.reserveCapacity(body.count + t.count + 32)
        out.append(contentsOf: "DSSEv1 ".utf8)
        out.append(contentsOf: String(t.count).utf8)
        out.append(0x20)
        out.append(contentsOf: t)
        out.append(0x20)
        out.append(contentsOf: String(body.count).utf8)
        out.append(0x20)
        out.append(contentsOf: body)
        return out
    }
}
