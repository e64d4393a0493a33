import LatchkeyCore
import Logging
import ServiceLifecycle

/// Logs one warning line per unresolved email conflict group at start-up, once the database's
/// services run, then waits for shutdown (a service that returned would stop the application).
struct EmailConflictReport: Service {
    let auth: Auth
    let logger: Logger

    func run() async throws {
        do {
            let conflicts = try await auth.emailConflicts()
            var groups: [(key: String, members: [EmailConflict])] = []
            for conflict in conflicts {
                // Invalid addresses are each a group of their own; shared canonical forms group.
                let key = conflict.canonical ?? "invalid \(conflict.userID)"
                if let last = groups.last, last.key == key {
                    groups[groups.count - 1].members.append(conflict)
                } else {
                    groups.append((key, [conflict]))
                }
            }
            for group in groups {
                logger.warning(
                    "accounts keep an address that could not take its canonical form; resolve with 'latchkey users conflicts'",
                    metadata: [
                        "canonical": "\(group.members[0].canonical ?? "(invalid)")",
                        "user_ids": "\(group.members.map { String($0.userID) }.joined(separator: ","))",
                    ])
            }
        } catch {
            logger.warning("could not read the email conflicts at start-up", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
    }
}
