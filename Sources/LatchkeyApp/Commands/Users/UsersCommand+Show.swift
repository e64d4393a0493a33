import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
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
                    "email_verified": account.emailVerified, "mfa": account.secondFactorEnabled,
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
            print("mfa\t\(account.secondFactorEnabled)")
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
}
