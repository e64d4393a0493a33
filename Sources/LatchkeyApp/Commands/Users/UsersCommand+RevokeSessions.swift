import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct RevokeSessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-sessions", abstract: "End every session of a user.")

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let email = email
            guard
                let count = try await Admin.withAuth(
                    database, { auth, _ in try await auth.revokeSessions(email: email) })
            else {
                throw CommandFailure("no such user: \(email)")
            }
            print("revoked\t\(count)")
        }
    }
}
