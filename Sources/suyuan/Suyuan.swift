import ArgumentParser

@main
struct Suyuan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suyuan",
        abstract: "Suyuan (溯源): an append-only, Merkle-committed traceability ledger for cross-border goods.",
        discussion: """
            Exit codes: 0 success; 1 something failed to verify; 64 usage error; 65 malformed or refused input;
            66 a named file or ledger does not exist; 73 cannot create; 74 I/O error; 75 ledger busy (locked);
            77 wrong passphrase or unsafe key file permissions.
            """,
        subcommands: [
            KeyCommand.self, InitCommand.self, SignCommand.self, AppendCommand.self, NoticeCommand.self,
            CheckpointCommand.self, EntriesCommand.self, ProveCommand.self, VerifyCheckpointCommand.self,
            BackupCommand.self,
        ]
    )
}
