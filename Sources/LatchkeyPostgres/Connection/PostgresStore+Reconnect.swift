import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// Waits for failures; after one, tries a fresh client until one answers or the current one
    /// recovers by itself.
    func superviseConnections() async {
        for await _ in failures {
            while !Task.isCancelled, !state.withLock({ $0.healthy }) {
                do {
                    try await Task.sleep(for: configuration.reconnectInterval)
                } catch {
                    return
                }
                if state.withLock({ $0.healthy }) { break }
                let candidate = PostgresClient(configuration: configuration.clientConfiguration)
                let runner = Task { await candidate.run() }
                do {
                    try await Deadline.run(configuration.deadline) {
                        _ = try await candidate.query("SELECT 1", logger: self.logger).collect()
                    }
                } catch {
                    runner.cancel()
                    await runner.value
                    continue
                }
                let old = state.withLock { state in
                    defer {
                        state.client = candidate
                        state.runner = runner
                        state.generation += 1
                        state.healthy = true
                    }
                    return state.runner
                }
                // Closing the old pool fails the calls still queued on it: give them their
                // deadline first (they may yet be served if it reconnects meanwhile).
                let grace = configuration.deadline
                Task {
                    try? await Task.sleep(for: grace)
                    old?.cancel()
                }
                logger.notice(
                    "reconnected to PostgreSQL", metadata: ["database": "\(configuration.redactedDescription)"])
            }
        }
    }
}
