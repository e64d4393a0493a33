import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "One line per user: email, created (RFC 3339), live sessions, verified, second factor; tab-separated.")

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
            // A person at a terminal gets the columns' names; a pipe or a script gets data only.
            if !json && PasswordPrompt.standardOutputIsTerminal {
                print("email\tcreated_at\tlive_sessions\temail_verified\tmfa")
            }
            for user in users {
                if json {
                    let object: [String: Any] = [
                        "email": user.email, "created_at": rfc3339(user.createdAt), "live_sessions": user.liveSessions,
                        "email_verified": user.emailVerified, "mfa": user.secondFactorEnabled,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(
                        "\(user.email)\t\(rfc3339(user.createdAt))\t\(user.liveSessions)\t\(user.emailVerified)\t\(user.secondFactorEnabled)"
                    )
                }
            }
        }
    }
}
