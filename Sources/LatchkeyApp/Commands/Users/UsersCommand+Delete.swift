import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user with their sessions and reset token.")

        @Argument(help: "The email (or give --id).")
        var email: String?

        @Option(help: "The account's id, as `users conflicts` lists it.")
        var id: Int64?

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (email == nil) != (id == nil) else { throw ValidationError("give an email or --id, not both") }
        }

        func run() async throws {
            let (email, id) = (email, id)
            // The canonical address acted on, not the argument as typed.
            let deleted: String? = try await Admin.withAuth(database) { auth, _ in
                if let id { return try await auth.deleteUser(id: id) ? "id \(id)" : nil }
                return try await auth.deleteUser(email: email ?? "")
            }
            guard let deleted else { throw CommandFailure("no such user: \(id.map { "id \($0)" } ?? email ?? "")") }
            print("deleted\t\(deleted)")
        }
    }
}
