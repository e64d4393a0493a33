import AsyncHTTPClient
import Crypto
import Foundation
import LatchkeyCore
import Logging
import NIOCore
import ServiceLifecycle

/// `RESET_TOKEN_DELIVERY=webhook`: every account event is POSTed as JSON to `WEBHOOK_URL`, with
/// `X-Latchkey-Signature: sha256=<hex HMAC-SHA256 of the exact body under WEBHOOK_SECRET>`.
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

    func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await event in events {
                    group.addTask { await self.deliver(event) }
                }
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
    }

    /// The exact body sent for an event.
    static func body(for event: AccountEvent) throws -> Data {
        let payload: [String: String]
        switch event {
        case .passwordResetRequested(let email, let token, let expiresAt):
            payload = [
                "event": "password_reset_requested", "email": email, "reset_token": token,
                "expires_at": rfc3339(expiresAt),
            ]
        case .registrationAttemptExistingAccount(let email):
            payload = ["event": "registration_attempt_existing_account", "email": email]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(payload)
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

    private func deliver(_ event: AccountEvent) async {
        let name = Self.eventName(event)
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
        for attempt in 0...options.retryDelays.count {
            if attempt > 0 {
                // Shutting down: one attempt per queued event, so that the process exits in time.
                if Task.isShuttingDownGracefully { break }
                try? await Task.sleep(for: options.retryDelays[attempt - 1])
            }
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: options.timeout)
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

    private static func eventName(_ event: AccountEvent) -> String {
        switch event {
        case .passwordResetRequested: "password_reset_requested"
        case .registrationAttemptExistingAccount: "registration_attempt_existing_account"
        }
    }
}
