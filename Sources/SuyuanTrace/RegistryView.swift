import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// The registry as of one time, for people (`text`) and programs (`json`).
public struct RegistryView: Sendable {
    public let registry: Registry
    public let at: Timestamp

    public init(registry: Registry, at: Timestamp) { self.registry = registry; self.at = at }

    private var bodies: [Body] { registry.bodies.values.sorted { ($0.region, $0.id) < ($1.region, $1.id) } }

    public var json: JSONValue {
        let bodies: [JSONValue] = bodies.map { b in
            var o: [String: JSONValue] = [
                "id": .string(b.id), "name": .string(b.name), "region": .string(b.region.rawValue), "type": .string(b.type.rawValue),
                "status": .string(status(b)), "validFrom": .string(b.validity.from.millisecondString), "entry": .number(Double(b.index)),
            ]
            if let u = b.validity.until { o["validUntil"] = .string(u.millisecondString) }
            if let a = b.accreditedBy { o["accreditedBy"] = .string(a) }
            if let a = b.accreditation { o["accreditation"] = .string(a) }
            if !b.scope.isEmpty {
                o["scope"] = .array(b.scope.map { item in
                    .object(["category": .string(item.category), "standard": .string(item.standard), "status": .string(b.status(of: item, at: at).0.rawValue)])
                })
            }
            o["history"] = .array(b.history.map { c in
                var h: [String: JSONValue] = ["status": .string(c.status.rawValue), "effective": .string(c.effective.millisecondString), "entry": .number(Double(c.index))]
                if let s = c.scope { h["scope"] = .string(s.description) }
                return .object(h)
            })
            return .object(o)
        }
        let keys: [JSONValue] = registry.bindings.map { k in
            var o: [String: JSONValue] = ["key": .string(DIDKey.encode(k.key)), "body": .string(k.body), "role": .string(k.role),
                                          "validFrom": .string(k.validity.from.millisecondString), "valid": .bool(k.isValid(at: at)), "entry": .number(Double(k.index))]
            if let u = k.validity.until { o["validUntil"] = .string(u.millisecondString) }
            if let r = k.revoked { o["revoked"] = .string(r.millisecondString) }
            return .object(o)
        }
        let agreements: [JSONValue] = registry.agreements.map { g in
            var o: [String: JSONValue] = ["region": .string(g.region.rawValue), "acceptFrom": .array(g.acceptFrom.map { .string($0.rawValue) }),
                                          "scope": .array(g.scope.map { .string($0.description) }), "from": .string(g.validity.from.millisecondString),
                                          "inForce": .bool(g.validity.contains(at)), "entry": .number(Double(g.index))]
            if let u = g.validity.until { o["until"] = .string(u.millisecondString) }
            return .object(o)
        }
        var policies: [String: JSONValue] = [:]
        for r in Region.allCases { policies[r.rawValue] = .string(registry.policy(of: r, at: at).rawValue) }
        return .object(["at": .string(at.millisecondString), "bodies": .array(bodies), "keys": .array(keys),
                        "agreements": .array(agreements), "laterSuspensionPolicy": .object(policies)])
    }

    private func status(_ b: Body) -> String {
        if !b.validity.contains(at) { return b.validity.from > at ? "not-yet-valid" : "expired" }
        return b.status(at: at).0.rawValue
    }

    public var text: String {
        var lines = ["Registry as of \(at.millisecondString)"]
        lines.append("")
        lines.append("Bodies (\(registry.bodies.count)):")
        for b in bodies {
            var l = "  \(b.region.rawValue)  \(b.id)  \(b.type.rawValue)  \(status(b))  \(b.name)"
            if let a = b.accreditation { l += "  [accreditation \(a) by \(b.accreditedBy ?? "?")]" }
            lines.append(l)
            for item in b.scope { lines.append("        scope \(item)  \(b.status(of: item, at: at).0.rawValue)") }
        }
        lines.append("")
        lines.append("Keys (\(registry.bindings.count) bindings):")
        for k in registry.bindings {
            lines.append("  \(DIDKey.encode(k.key))  → \(k.body) (\(k.role))  \(k.validity.text)\(k.revoked.map { ", revoked \($0.millisecondString)" } ?? "")  \(k.isValid(at: at) ? "valid" : "not valid")")
        }
        lines.append("")
        lines.append("Recognition agreements (\(registry.agreements.count)):")
        for g in registry.agreements {
            lines.append("  \(g.region.rawValue) accepts \(g.acceptFrom.map(\.rawValue).joined(separator: ",")) for \(g.scope.map(\.description).joined(separator: "; "))  \(g.validity.text)  \(g.validity.contains(at) ? "in force" : "not in force")")
        }
        lines.append("")
        lines.append("Later-suspension policy: " + Region.allCases.map { "\($0.rawValue) \(registry.policy(of: $0, at: at).rawValue)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
