import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

/// `latchkey users`: list, create and delete users, and end their sessions.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage users on the configured database.",
        subcommands: [
            List.self, Show.self, Verify.self, Create.self, Delete.self, Rename.self, RevokeSessions.self,
            SecondFactorReset.self, Conflicts.self,
        ]
    )
}
