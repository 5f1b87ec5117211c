import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

struct WitnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness", abstract: "Witness another ledger's checkpoints (C2SP tlog-cosignature/v1).",
        subcommands: [WitnessCosign.self])
}

struct WitnessCosign: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "cosign",
        abstract: "Verify a checkpoint and its consistency with the last one this witness cosigned; print it cosigned.",
        discussion: """
            The state file remembers the log's key and the last cosigned checkpoint; it is created on first use
            (which needs --log). A checkpoint that is smaller, forked, or not proved consistent is refused and the
            state is left as it was.
            """)

    @Option(help: "The witness's secret key file.") var key: String
    @Option(help: "The witness state file for this log (created on first use).") var state: String
    @Option(help: "The checkpoint note to cosign.") var checkpoint: String
    @Option(help: "A consistency proof from the last cosigned size (output of `suyuan prove consistency --json`).") var proof: String?
    @Option(help: "The log's checkpoint key (KEYREF); needed when the state file does not exist yet.") var log: String?
    @OptionGroup var pass: PassphraseOptions

    func execute() throws {
        let note = try IO.read(checkpoint, limit: Note.maxSize)
        var proofHashes: [Hash]?, proofSizes: (UInt64, UInt64)?
        if let proof {
            let j: JSONValue
            do { j = try JSONValue.parse(try IO.read(proof, limit: 1 << 20)) } catch let e as JSONError {
                throw CLIError(code: CLIError.data, message: "proof \(proof) is not valid JSON: \(e)")
            }
            guard let a = j["size1"]?.integerValue, let b = j["size2"]?.integerValue, let list = j["proof"]?.arrayValue else {
                throw CLIError(code: CLIError.data, message: "proof \(proof) must be {\"size1\",\"size2\",\"proof\":[base64…]} as printed by `suyuan prove consistency --json`")
            }
            proofHashes = try list.map { v in
                guard let h = v.stringValue.flatMap(Base64.decode).flatMap({ Hash(bytes: $0) }) else {
                    throw CLIError(code: CLIError.data, message: "proof \(proof) has a hash that is not base64 of 32 bytes")
                }
                return h
            }
            proofSizes = (UInt64(a), UInt64(b))
        }
        let (file, sk) = try Keys.open(key, passphrase: try pass.required())

        // One cosigner at a time per state file, so a stale state can never overwrite a newer one.
        let lockFD = open(state + ".lock", O_CREAT | O_RDWR, 0o600)
        guard lockFD >= 0, flock(lockFD, LOCK_EX) == 0 else {
            throw CLIError(code: CLIError.io, message: "cannot lock \(state).lock: \(String(cString: strerror(errno)))")
        }
        defer { flock(lockFD, LOCK_UN); close(lockFD) }

        let current: WitnessState
        if FileManager.default.fileExists(atPath: state) {
            current = try WitnessState(json: try JSONValue.parse(try IO.read(state, limit: 1 << 16)))
            if let log, try Keys.resolve(log) != current.log {
                throw CLIError(code: CLIError.data, message: "--log differs from the log key in \(state) (\(current.log))")
            }
        } else {
            guard let log else {
                throw ValidationError("\(state) does not exist yet: pass --log KEYREF (the log's checkpoint key) to start witnessing it")
            }
            let logKey = try Keys.resolve(log)
            let parsed = try Checkpoint.parse(body: try Note.parse(note).text)
            current = WitnessState(log: logKey, origin: parsed.origin)
        }
        let (cosigned, next): (Note, WitnessState)
        do {
            (cosigned, next) = try current.cosign(note: note, proof: proofHashes, proofSizes: proofSizes,
                                                  witnessName: file.name, key: sk, now: systemClock())
        } catch {
            throw CLIError(code: CLIError.verification, message: error.description)
        }
        try IO.write(Array((next.json.prettyPrinted() + "\n").utf8), to: state, mode: 0o600)
        FileHandle.standardOutput.write(Data(cosigned.encoded.utf8))
    }
}
