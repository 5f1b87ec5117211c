import ArgumentParser
import Foundation
import SuyuanCrypto
import SuyuanFormats

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Generate and show Ed25519 keys.",
        subcommands: [KeyGenerate.self, KeyShow.self])
}

struct KeyGenerate: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate an Ed25519 key, write it encrypted with a passphrase (mode 0600), print its verifier key.")

    @Option(help: "The key's name (e.g. gd.samr.example/regulator); no spaces or '+'.") var name: String
    @Option(help: "Where to write the encrypted secret key file (must not exist).") var out: String
    @OptionGroup var pass: PassphraseOptions
    @Flag(help: "Print {\"name\",\"vkey\",\"didKey\",\"publicKey\"} as JSON.") var json = false

    func validate() throws {
        do { _ = try VerifierKey(name: name, publicKey: PublicKey(bytes: [UInt8](repeating: 1, count: 32))!) } catch {
            throw ValidationError("invalid --name \"\(name)\": \(error)")
        }
    }

    func execute() throws {
        let passphrase = try pass.required()
        if FileManager.default.fileExists(atPath: out) {
            throw CLIError(code: CLIError.cannotCreate, message: "\(out) already exists; choose another path or remove it first")
        }
        let key = SecretKey.generate()
        let file = try KeyFile.seal(key, name: name, passphrase: passphrase)
        try IO.write(file.encoded(), to: out, mode: 0o600, overwrite: false)
        let vkey = try VerifierKey(name: name, publicKey: key.publicKey)
        if json { IO.printJSON(KeyShow.describe(file, vkey)) } else { IO.print(vkey.description) }
    }
}

struct KeyShow: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show the public parts of a key file: verifier key, did:key, public key. Needs no passphrase.")

    @Argument(help: "The key file.") var file: String
    @Flag(help: "Print {\"name\",\"vkey\",\"didKey\",\"publicKey\"} as JSON.") var json = false

    static func describe(_ f: KeyFile, _ vkey: VerifierKey) -> JSONValue {
        .object([
            "name": .string(f.name), "vkey": .string(vkey.description),
            "witnessVkey": .string(witnessKey(vkey)),
            "didKey": .string(DIDKey.encode(vkey.publicKey)), "publicKey": .string(f.publicKey),
        ])
    }

    /// The same key as a C2SP cosigner (tlog-cosignature/v1, algorithm 0x04) verifier key.
    static func witnessKey(_ vkey: VerifierKey) -> String {
        (try? VerifierKey(name: vkey.name, publicKey: vkey.publicKey, algorithm: .cosignatureV1).description) ?? ""
    }

    func execute() throws {
        let f = try Keys.readKeyFile(file)
        let vkey = try Keys.verifierKey(of: f)
        if json {
            IO.printJSON(KeyShow.describe(f, vkey))
        } else {
            IO.print("""
                name:       \(f.name)
                vkey:       \(vkey)
                witness:    \(KeyShow.witnessKey(vkey))
                did:key:    \(DIDKey.encode(vkey.publicKey))
                public key: \(f.publicKey)
                """)
        }
    }
}
