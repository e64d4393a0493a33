import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give an account another address (how an email conflict is resolved); prints the canonical form.")

        @Option(help: "The account's id, as `users conflicts` lists it.")
        var id: Int64

        @Argument(help: "The new email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (id, email) = (id, email)
            let renamed = try await Admin.withAuth(database) { auth, _ in try await auth.renameUser(id: id, to: email) }
            guard let renamed else {
                throw CommandFailure("no such user: id \(id)")
            }
            print("renamed\t\(id)\t\(renamed)")
        }
    }
}
