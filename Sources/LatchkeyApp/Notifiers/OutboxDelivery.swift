import Foundation
import LatchkeyCore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The outbox's delivery service: claims due messages (at most `concurrency` in flight), sends
/// each through its channel's sender outside any transaction, and records the outcome (sent, due
/// again on the schedule, or failed). It wakes when a message commits on this node
/// (`Auth.outboxBell`) and at least once a second, so that a message written by another node, or
/// one falling due, is claimed within a second.
///
/// At graceful shutdown it stops claiming and waits for the sends in flight (the service group's
/// shutdown timeout bounds that); what is unsent is due again once its lease runs out, on the next
/// start or another node.
final class OutboxDelivery: Service {
    let auth: Auth
    let senders: [MessageChannel: any MessageSender]
    let logger: Logger
    /// The most sends in flight at once.
    let concurrency: Int
    /// The longest wait between two claims.
    let pollInterval: Duration
    private let pending: Gauge
    /// The sends in flight.
    private let inFlight = Atomic<Int>(0)

    /// Creates the service.
    /// - Parameters:
    ///   - auth: Where messages are claimed and settled.
    ///   - senders: The sender of each channel; a message of another channel fails with a reason.
    ///   - logger: Where failures are reported (never a payload).
    ///   - factory: Where `latchkey_outbox_pending` goes.
    ///   - concurrency: The most sends in flight (default 16).
    ///   - pollInterval: The longest wait between two claims (default 1 second).
    init(
        auth: Auth, senders: [MessageChannel: any MessageSender], logger: Logger,
        factory: any MetricsFactory = MetricsSystem.factory, concurrency: Int = 16, pollInterval: Duration = .seconds(1)
    ) {
        self.auth = auth
        self.senders = senders
        self.logger = logger
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
        pending = Gauge(label: "latchkey_outbox_pending", factory: factory)
    }

    /// A claim's lease: the slowest sender's timeout and 15 seconds, so that a node that dies
    /// mid-send leaves its messages due again within a minute (5 + 15 s for the webhook).
    var lease: Duration {
        (senders.values.map(\.timeout).max() ?? .seconds(5)) + .seconds(15)
    }

    func run() async throws {
        let bell = auth.outboxBell
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var lastCount = ContinuousClock.now - .seconds(10)
                while !Task.isShuttingDownGracefully, !Task.isCancelled {
                    let free = concurrency - inFlight.load(ordering: .acquiring)
                    var claimed: [DeliverableMessage] = []
                    if free > 0 {
                        do {
                            claimed = try await auth.claimMessages(limit: free, lease: lease)
                        } catch {
                            logger.warning("could not claim outbox messages", metadata: ["error": "\(error)"])
                        }
                    }
                    for message in claimed {
                        inFlight.add(1, ordering: .acquiringAndReleasing)
                        group.addTask {
                            await self.deliver(message)
                            self.inFlight.subtract(1, ordering: .acquiringAndReleasing)
                            bell.ring()
                        }
                    }
                    if ContinuousClock.now - lastCount >= .seconds(1) {
                        lastCount = .now
                        if let count = try? await auth.pendingMessages().count { pending.record(count) }
                    }
                    // A full claim may leave more due: claim again at once.
                    if free > 0, claimed.count == free { continue }
                    await bell.wait(upTo: pollInterval)
                }
            }
        } onGracefulShutdown: {
            bell.ring()
        }
        for sender in senders.values { await sender.shutdown() }
    }

    /// Sends one message and records the outcome.
    private func deliver(_ message: DeliverableMessage) async {
        let entry = message.entry.message
        let failure: String?
        if let sender = senders[entry.channel] {
            failure = await sender.send(message)
        } else {
            failure = "no \(entry.channel.rawValue) sender is configured"
        }
        let metadata: Logger.Metadata = [
            "id": "\(entry.id)", "event": "\(entry.event)", "kind": "\(entry.channel.rawValue)",
            "attempt": "\(message.attempt)",
        ]
        switch await auth.settle(message, failure: failure) {
        case .sent:
            if entry.channel != .log { logger.info("message sent", metadata: metadata) }
        case .retry(let at, let error):
            logger.warning(
                "message not sent; will retry",
                metadata: metadata.merging(["error": "\(error)", "next_attempt_at": "\(rfc3339(at))"]) { $1 })
        case .failed(_, let error):
            logger.error(
                "message failed after its last attempt", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        case nil:
            break
        }
    }
}
