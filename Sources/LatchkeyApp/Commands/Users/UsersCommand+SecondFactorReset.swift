import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct SecondFactorReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mfa-reset",
            abstract:
                "Remove a user's second factor and recovery codes and end their sessions (a lost authenticator); the owner is notified."
        )

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let email = email
            guard
                let removed = try await Admin.withAuth(
                    database, { auth, _ in try await auth.resetSecondFactor(email: email) })
            else {
                throw CommandFailure("no such user: \(email)")
            }
            print(removed ? "removed" : "none")
        }
    }
}
