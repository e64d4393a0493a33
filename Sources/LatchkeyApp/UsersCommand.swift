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
        subcommands: [List.self, Create.self, Delete.self, RevokeSessions.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per user: email, created (RFC 3339), live sessions; tab-separated.")

        @Option(help: "The most users to list.")
        var limit = 100

        @Option(help: "List only emails after this one (for paging).")
        var after: String?

        @Flag(help: "One JSON object per line.")
        var json = false

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000000") }
        }

        func run() async throws {
            let (limit, after, json) = (limit, after, json)
            let users = try await Admin.withAuth(database) { auth, _ in
                try await auth.listUsers(after: after, limit: limit)
            }
            for user in users {
                if json {
                    let object: [String: Any] = [
                        "email": user.email, "created_at": rfc3339(user.createdAt), "live_sessions": user.liveSessions,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print("\(user.email)\t\(rfc3339(user.createdAt))\t\(user.liveSessions)")
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; the password is read from standard input (one line), never from the command line."
        )

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard let line = readLine(strippingNewline: true) else {
                throw CommandFailure("no password on standard input")
            }
            let email = email
            let user = try await Admin.withAuth(database) { auth, _ in
                try await auth.registerUser(email: email, password: line)
            }
            print("created\t\(user.email)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user with their sessions and reset token.")

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let email = email
            guard try await Admin.withAuth(database, { auth, _ in try await auth.deleteUser(email: email) }) else {
                throw CommandFailure("no such user: \(email)")
            }
            print("deleted\t\(email)")
        }
    }

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
