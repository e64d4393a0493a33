import AsyncHTTPClient
import Crypto
import Foundation
import LatchkeyCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `TOKEN_DELIVERY=webhook`: every account event is POSTed as JSON to `WEBHOOK_URL`, signed
/// as Standard Webhooks (standardwebhooks.com) asks: `webhook-id` (the same on every retry of an
/// event, new for the next), `webhook-timestamp` (Unix seconds of the attempt) and
/// `webhook-signature: v1,<base64 of HMAC-SHA256(WEBHOOK_SECRET, "<id>.<timestamp>.<body>")>`, so
/// that a receiver can drop duplicates and refuse a captured delivery replayed later. The older
/// `X-Latchkey-Signature: sha256=<hex HMAC-SHA256 of the body>` is still sent, deprecated. A
/// redirect from the receiver is not followed (a body may hold a reset or verification token): it
/// is a failure.
///
/// `notify` only queues the event; the service delivers it in the background with a timeout
/// and a few retries with backoff (after a connection failure, a timeout, a 429 or a 5xx). On
/// shutdown it stops taking events and makes one attempt (no more retries) at those queued.
final class WebhookNotifier: AccountNotifier, Service {
    struct Options: Sendable {
        var timeout: TimeAmount = .seconds(5)
        var retryDelays: [Duration] = [.milliseconds(500), .seconds(2), .seconds(8)]
    }

    let url: String
    private let secret: Data
    private let options: Options
    private let logger: Logger
    private let events: AsyncStream<AccountEvent>
    private let continuation: AsyncStream<AccountEvent>.Continuation
    private let ended = Atomic<Int>(0)

    /// How many events' deliveries have ended, delivered or given up: after that, no attempt
    /// of theirs is made.
    var deliveriesEnded: Int { ended.load(ordering: .acquiring) }

    init(url: String, secret: String, options: Options = Options(), logger: Logger) {
        self.url = url
        self.secret = Data(secret.utf8)
        self.options = options
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(
            of: AccountEvent.self, bufferingPolicy: .bufferingOldest(10_000))
    }

    func notify(_ event: AccountEvent) {
        if case .dropped = continuation.yield(event) {
            logger.error("webhook queue full: an account event was dropped")
        }
    }

    /// Takes no more events: `run()` returns once those queued are delivered (or given up).
    func finish() {
        continuation.finish()
    }

    func run() async throws {
        // A client of its own, made and shut down here, which never follows a redirect.
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await event in events {
                    group.addTask {
                        await self.deliver(event, with: client)
                        self.ended.add(1, ordering: .releasing)
                    }
                }
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
        try? await client.shutdown()
    }

    /// The Standard Webhooks signature of one attempt: `v1,<base64 of HMAC-SHA256(secret,
    /// "<id>.<timestamp>.<body>")>`.
    func standardSignature(id: String, timestamp: Int, body: Data) -> String {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return "v1," + Data(code).base64EncodedString()
    }

    /// The exact body sent for an event.
    static func body(for event: AccountEvent) throws -> Data {
        let payload = event.fields
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(payload.merging(["event": event.name]) { kept, _ in kept })
    }

    /// `sha256=` and the hex HMAC-SHA256 of `body`.
    func signature(of body: Data) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in code {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return "sha256=" + String(decoding: hex, as: UTF8.self)
    }

    private func deliver(_ event: AccountEvent, with client: HTTPClient) async {
        let name = event.name
        let body: Data
        do {
            body = try Self.body(for: event)
        } catch {
            logger.error("webhook body could not be encoded", metadata: ["event": "\(name)"])
            return
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "latchkey")
        request.headers.add(name: "X-Latchkey-Signature", value: signature(of: body))
        request.body = .bytes(ByteBuffer(data: body))
        // One id per event, the same on each retry, so that a receiver can drop duplicates.
        let id = "evt_" + SecretToken.generate(byteCount: 16)
        request.headers.add(name: "webhook-id", value: id)
        for attempt in 0...options.retryDelays.count {
            if attempt > 0 {
                // Shutting down: one attempt per queued event, so that the process exits in time.
                if Task.isShuttingDownGracefully { break }
                try? await Task.sleep(for: options.retryDelays[attempt - 1])
            }
            let timestamp = Int(Date().timeIntervalSince1970)
            request.headers.replaceOrAdd(name: "webhook-timestamp", value: "\(timestamp)")
            request.headers.replaceOrAdd(
                name: "webhook-signature", value: standardSignature(id: id, timestamp: timestamp, body: body))
            do {
                let response = try await client.execute(request, timeout: options.timeout)
                let status = response.status.code
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(status) {
                    logger.info("webhook delivered", metadata: ["event": "\(name)", "attempt": "\(attempt + 1)"])
                    return
                }
                guard status == 429 || status >= 500 else {
                    logger.error("webhook refused the event", metadata: ["event": "\(name)", "status": "\(status)"])
                    return
                }
                logger.warning("webhook failed; will retry", metadata: ["event": "\(name)", "status": "\(status)"])
            } catch {
                logger.warning(
                    "webhook unreachable; will retry",
                    metadata: ["event": "\(name)", "error": "\(String(reflecting: type(of: error)))"])
            }
        }
        logger.error("webhook delivery gave up", metadata: ["event": "\(name)"])
    }

}
