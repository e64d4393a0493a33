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
            MFAReset.self, Conflicts.self,
        ]
    )

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
                        "email_verified": user.emailVerified, "mfa": user.mfaEnabled,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(
                        "\(user.email)\t\(rfc3339(user.createdAt))\t\(user.liveSessions)\t\(user.emailVerified)\t\(user.mfaEnabled)"
                    )
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One account, its live sessions and its recent activity, no secrets.",
            discussion: """
                Tab-separated lines: `id`, `email`, `created_at`, `email_verified` and `mfa` with their values, then one `session` line per \
                live session, newest first: public id, created, last seen, expires (RFC 3339), address, agent \
                (`-` when unknown); then one `activity` line per entry of the last 20, newest first: type, time, \
                address, agent.
                """
        )

        @Argument(help: "The email.")
        var email: String

        @Flag(help: "One JSON object.")
        var json = false

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let email = email
            guard
                let (account, sessions, activity) = try await Admin.withAuth(
                    database, { auth, _ in try await auth.showUser(email: email) })
            else { throw CommandFailure("no such user: \(email)") }
            if json {
                let object: [String: Any] = [
                    "id": account.id, "email": account.email, "created_at": rfc3339(account.createdAt),
                    "email_verified": account.emailVerified, "mfa": account.mfaEnabled,
                    "sessions": sessions.map { session -> [String: Any] in
                        [
                            "id": session.id, "created_at": rfc3339(session.createdAt),
                            "last_seen_at": rfc3339(session.lastSeenAt), "expires_at": rfc3339(session.expiresAt),
                            "ip": session.ip ?? NSNull(), "user_agent": session.userAgent ?? NSNull(),
                        ]
                    },
                    "activity": activity.map { event -> [String: Any] in
                        [
                            "type": event.kind.rawValue, "at": rfc3339(event.at), "ip": event.ip ?? NSNull(),
                            "user_agent": event.userAgent ?? NSNull(),
                        ]
                    },
                ]
                let data = try JSONSerialization.data(
                    withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("id\t\(account.id)\nemail\t\(account.email)\ncreated_at\t\(rfc3339(account.createdAt))")
            print("email_verified\t\(account.emailVerified)")
            print("mfa\t\(account.mfaEnabled)")
            for session in sessions {
                // A tab or line break in an agent would break the columns.
                let agent = (session.userAgent ?? "-").map { $0 == "\t" || $0.isNewline ? " " : $0 }
                print(
                    [
                        "session", session.id, rfc3339(session.createdAt), rfc3339(session.lastSeenAt),
                        rfc3339(session.expiresAt), session.ip ?? "-", String(agent),
                    ].joined(separator: "\t"))
            }
            for event in activity {
                print(
                    [
                        "activity", event.kind.rawValue, rfc3339(event.at), event.ip ?? "-",
                        String((event.userAgent ?? "-").map { $0 == "\t" || $0.isNewline ? " " : $0 }),
                    ]
                    .joined(separator: "\t"))
            }
        }
    }

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

    struct Conflicts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accounts whose stored address could not take its canonical form.",
            discussion: """
                One line per account, one group after the other: id, stored email, canonical form or (invalid), \
                tab-separated. Resolve each with `users rename --id N NEW-EMAIL` or `users delete --id N`; \
                until then each logs in with its old spelling.
                """
        )

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let conflicts = try await Admin.withAuth(database) { auth, _ in try await auth.emailConflicts() }
            if conflicts.isEmpty {
                // On standard error: standard output stays one line per conflict for scripts.
                FileHandle.standardError.write(Data("no email conflicts\n".utf8))
            }
            for conflict in conflicts {
                print("\(conflict.userID)\t\(conflict.email)\t\(conflict.canonical ?? "(invalid)")")
            }
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

    struct MFAReset: AsyncParsableCommand {
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
                    database, notifying: true, { auth, _ in try await auth.resetSecondFactor(email: email) })
            else {
                throw CommandFailure("no such user: \(email)")
            }
            print(removed ? "removed" : "none")
        }
    }
}
