import ArgumentParser
import Foundation
import LatchkeyCore

/// `latchkey outbox`: what waits to leave, what failed, and trying a failed message again.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "See and retry the outgoing messages (webhook, log) on the configured database.",
        subcommands: [List.self, Retry.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "One line per pending or failed message, most recently due first: id, kind, event, recipient, "
                + "attempts, next try (RFC 3339; when it failed, for a failed one), status, last error; "
                + "tab-separated. Never a payload.")

        @Flag(help: "Only the failed messages.")
        var failed = false

        @Option(help: "The most messages to list.")
        var limit = 100

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1 to 100000") }
        }

        func run() async throws {
            let (failed, limit) = (failed, limit)
            let entries = try await Admin.withAuth(database) { auth, _ in
                try await auth.outboxEntries(failedOnly: failed, limit: limit)
            }
            if PasswordPrompt.standardOutputIsTerminal {
                print("id\tkind\tevent\trecipient\tattempts\tnext_attempt_at\tstatus\tlast_error")
            }
            for entry in entries {
                let message = entry.message
                // A reason is one line: a tab or line break in it would shift the columns.
                let error = (entry.lastError ?? "").map { $0.isNewline || $0 == "\t" ? " " : $0 }
                print(
                    [
                        message.id, message.channel.rawValue, message.event, message.recipient, "\(entry.attempts)",
                        rfc3339(entry.nextAttemptAt), entry.status.rawValue, String(error),
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Try a failed message again: a notice goes again under its own id; a message with a token is "
                + "replaced by a new token in a new message (the old token is never sent).")

        @Argument(help: "The message's id (msg_...), as `outbox list` shows it.")
        var id: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let id = id
            let outcome = try await Admin.withAuth(database) { auth, _ in try await auth.retryMessage(id: id) }
            switch outcome {
            case .requeued: print("requeued \(id)")
            case .reissued: print("a new token was issued in a new message; \(id) is gone")
            case .dropped: print("dropped \(id): its account is gone or its token is no longer wanted")
            case .notFailed: throw CommandFailure("no failed message has the id \(id)")
            }
        }
    }
}
