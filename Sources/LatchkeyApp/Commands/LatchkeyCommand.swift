import ArgumentParser
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import LatchkeySQLite

/// The `latchkey` command line.
public struct LatchkeyCommand: AsyncParsableCommand {
    /// The command's description and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "A user authentication service: register, log in, sessions, profile, logout, password reset.",
        subcommands: [
            ServeCommand.self, SettingsCommand.self, MigrateCommand.self, UsersCommand.self, OutboxCommand.self,
            BackupCommand.self, ImportFlaskCommand.self,
            SeedUsersCommand.self, HashBenchmarkCommand.self,
        ],
        defaultSubcommand: nil
    )

    /// Creates the command (for the argument parser).
    public init() {}
}
