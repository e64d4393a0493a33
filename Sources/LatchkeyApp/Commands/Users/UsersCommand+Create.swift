import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; the password is read from standard input, never from the command line.",
            discussion: """
                At a terminal the password is asked twice, without echo; from a pipe or a file, one line is read.
                """
        )

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let line = try PasswordPrompt.read()
            let email = email
            let user = try await Admin.withAuth(database) { auth, _ in
                try await auth.registerUser(email: email, password: line)
            }
            print("created\t\(user.email)")
        }
    }
}
