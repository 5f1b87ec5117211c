import ArgumentParser
import Foundation

@main
struct Suyuan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suyuan",
        abstract: "Suyuan (溯源): an append-only, Merkle-committed traceability ledger for cross-border goods.",
        discussion: """
            Exit codes: 0 success; 1 something failed to verify; 64 usage error; 65 malformed or refused input;
            66 a named file or ledger does not exist; 69 a server cannot be reached or answered with an error; 73 cannot
            create; 74 I/O error (disk full, read-only file or file system, file size limit); 75 ledger busy (locked by
            another process for $SUYUAN_LOCK_TIMEOUT s, default 30); 76 a server's answer is not what its API specifies;
            77 wrong passphrase or unsafe key file permissions.
            """,
        subcommands: [
            KeyCommand.self, InitCommand.self, SignCommand.self, AppendCommand.self, NoticeCommand.self,
            CheckpointCommand.self, EntriesCommand.self, ProveCommand.self, VerifyCheckpointCommand.self,
            AuditCommand.self, VerifyReportCommand.self, WitnessCommand.self, BackupCommand.self,
            RegistryCommand.self, AttestCommand.self, ExplainCommand.self, EventCommand.self, ImportEPCISCommand.self,
            ExportEPCISCommand.self, VerifyCommand.self, DemoCommand.self, ServeCommand.self, MirrorCommand.self,
        ]
    )

    /// Runs the command line. Usage errors are one `suyuan: …` line on stderr with exit 64 (help goes
    /// to stdout with exit 0); other failures were already reported by the command.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                let help = fullMessage(for: error)
                if !help.isEmpty { print(help) }
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? ""
            if !message.isEmpty {
                FileHandle.standardError.write(Data("suyuan: \(message)\(message.contains("--help") ? "" : " (see suyuan --help)")\n".utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}
