import AsyncHTTPClient
import Crypto
import Foundation
import LatchkeyCore
import Logging
import NIOCore
import Synchronization

/// `TOKEN_DELIVERY=webhook`: every account event is POSTed as JSON to `WEBHOOK_URL`, signed
/// as Standard Webhooks (standardwebhooks.com) asks: `webhook-id` (the outbox message's id, the
/// same on every retry), `webhook-timestamp` (Unix seconds of the attempt) and
/// `webhook-signature: v1,<base64 of HMAC-SHA256(WEBHOOK_SECRET, "<id>.<timestamp>.<body>")>`, so
/// that a receiver can drop duplicates and refuse a captured delivery replayed later. The older
/// `X-Latchkey-Signature: sha256=<hex HMAC-SHA256 of the body>` is still sent, deprecated.
///
/// A 2xx answer is a delivery; anything else (another status, a timeout, a refused connection,
/// a redirect, which is never followed: a body may hold a token) is a failure that the outbox
/// retries on its schedule (`OutboxSchedule`).
final class WebhookSender: MessageSender {
    let url: String
    private let secret: Data
    let timeout: Duration
    /// An HTTP client of its own that never follows a redirect, made at the first send and shut
    /// down by `shutdown()`.
    private let client = Mutex<HTTPClient?>(nil)

    /// Creates the sender.
    /// - Parameters:
    ///   - url: `WEBHOOK_URL`.
    ///   - secret: `WEBHOOK_SECRET`.
    ///   - timeout: The longest one attempt may take (default 5 seconds).
    init(url: String, secret: String, timeout: Duration = .seconds(5)) {
        self.url = url
        self.secret = Data(secret.utf8)
        self.timeout = timeout
    }

    func shutdown() async {
        let made = client.withLock { client -> HTTPClient? in
            defer { client = nil }
            return client
        }
        try? await made?.shutdown()
    }

    private func httpClient() -> HTTPClient {
        client.withLock { client in
            if let client { return client }
            let made = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
            client = made
            return made
        }
    }

    func send(_ message: DeliverableMessage) async -> String? {
        let body = message.body
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "latchkey")
        request.headers.add(name: "X-Latchkey-Signature", value: signature(of: body))
        request.headers.add(name: "webhook-id", value: message.id)
        let timestamp = Int(Date().timeIntervalSince1970)
        request.headers.add(name: "webhook-timestamp", value: "\(timestamp)")
        request.headers.add(
            name: "webhook-signature", value: standardSignature(id: message.id, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(data: body))
        let client = httpClient()
        let (sent, seconds) = (request, timeout.components.seconds)
        do {
            // The client's own deadline ends at the answer's head; the limit covers the body too, so
            // that a receiver that stops mid-body cannot hold a send (and its slot) for ever.
            let status = try await withTimeLimit(timeout) {
                let response = try await client.execute(sent, timeout: .seconds(seconds))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                return response.status.code
            }
            guard let status else { return "the webhook did not answer within \(seconds) s" }
            return (200..<300).contains(status) ? nil : "the webhook answered \(status)"
        } catch {
            return "the webhook is unreachable (\(String(reflecting: type(of: error))))"
        }
    }

    /// The Standard Webhooks signature of one attempt: `v1,<base64 of HMAC-SHA256(secret,
    /// "<id>.<timestamp>.<body>")>`.
    func standardSignature(id: String, timestamp: Int, body: Data) -> String {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return "v1," + Data(code).base64EncodedString()
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
}
