import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark an account's address verified (an operator's word for it); prints the canonical address.")

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let email = email
            guard
                let verified = try await Admin.withAuth(
                    database, { auth, _ in try await auth.markVerified(email: email) })
            else { throw CommandFailure("no such user: \(email)") }
            print("verified\t\(verified)")
        }
    }
}
