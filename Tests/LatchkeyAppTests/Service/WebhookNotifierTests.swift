import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyTestSupport
import Logging
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyApp

/// A local webhook receiver: records each request and answers with the next scripted status
/// (200 once the script is used up).
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var signature: String?
        var contentType: String?
        var body: Data
        var id: String?
        var timestamp: String?
        var standardSignature: String?
    }

    let received = Mutex<[Received]>([])
    /// Requests that reached the redirect's target.
    let redirected = Mutex(0)
    let script: Mutex<[HTTPResponse.Status]>

    init(script: [HTTPResponse.Status] = []) {
        self.script = Mutex(script)
    }

    var application: some ApplicationProtocol {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024)
            self.received.withLock {
                $0.append(
                    Received(
                        signature: request.headers[HTTPField.Name("X-Latchkey-Signature")!],
                        contentType: request.headers[.contentType], body: Data(buffer: body),
                        id: request.headers[HTTPField.Name("webhook-id")!],
                        timestamp: request.headers[HTTPField.Name("webhook-timestamp")!],
                        standardSignature: request.headers[HTTPField.Name("webhook-signature")!]))
            }
            let status = self.script.withLock { $0.isEmpty ? .ok : $0.removeFirst() }
            var headers = HTTPFields()
            if status.code / 100 == 3 { headers[.location] = "/elsewhere" }
            return Response(status: status, headers: headers)
        }
        router.post("/elsewhere") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 64 * 1024)
            self.redirected.withLock { $0 += 1 }
            return Response(status: .ok)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: CapturedLog().logger
        )
    }

    /// Waits up to 10 seconds for `count` requests.
    func wait(for count: Int) async throws -> [Received] {
        for _ in 0..<500 {
            let seen = received.withLock { $0 }
            if seen.count >= count { return seen }
            try await Task.sleep(for: .milliseconds(20))
        }
        return received.withLock { $0 }
    }
}

@Suite("The webhook notifier, against a local receiver")
struct WebhookNotifierTests {
    static let secret = "0123456789abcdef-secret"
    static let fast = WebhookNotifier.Options(
        timeout: .seconds(10), retryDelays: [.milliseconds(10), .milliseconds(10)])

    /// Runs a notifier pointed at the receiver while `body` runs.
    /// Waits up to 10 seconds until `count` deliveries have ended (delivered or given up).
    static func deliveriesEnd(_ notifier: WebhookNotifier, count: Int) async throws -> Bool {
        for _ in 0..<500 {
            if notifier.deliveriesEnded >= count { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return notifier.deliveriesEnded >= count
    }

    static func withNotifier(
        _ receiver: WebhookReceiver,
        _ body: @escaping @Sendable (WebhookNotifier) async throws -> Void
    ) async throws {
        try await receiver.application.test(.live) { client in
            let port = try #require(client.port)
            let notifier = WebhookNotifier(
                url: "http://127.0.0.1:\(port)/hook", secret: secret, options: fast, logger: CapturedLog().logger)
            let running = Task { try await notifier.run() }
            defer { running.cancel() }
            try await body(notifier)
        }
    }

    @Test("an event is POSTed as JSON with an HMAC-SHA256 signature of the exact body")
    func deliversSignedJSON() async throws {
        let receiver = WebhookReceiver()
        try await Self.withNotifier(receiver) { notifier in
            let expires = Date(timeIntervalSince1970: 1_800_000_000)
            notifier.notify(.passwordResetRequested(email: "ada@example.com", token: "tok", expiresAt: expires))
            let received = try await receiver.wait(for: 1)
            #expect(received.count == 1)
            let request = try #require(received.first)
            #expect(request.contentType == "application/json")
            let object = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: String])
            #expect(
                object == [
                    "event": "password_reset_requested", "email": "ada@example.com", "reset_token": "tok",
                    "expires_at": "2027-01-15T08:00:00Z",
                ])
            let mac = HMAC<SHA256>.authenticationCode(
                for: request.body, using: SymmetricKey(data: Data(Self.secret.utf8)))
            #expect(request.signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        }
    }

    @Test("a 5xx or 429 is retried until the receiver takes the event; a 4xx is not")
    func retries() async throws {
        let flaky = WebhookReceiver(script: [.serviceUnavailable, .tooManyRequests])
        try await Self.withNotifier(flaky) { notifier in
            notifier.notify(.registrationAttemptExistingAccount(email: "ada@example.com"))
            let received = try await flaky.wait(for: 3)
            #expect(received.count == 3)
            #expect(Set(received.map(\.body)).count == 1)
        }
        let refusing = WebhookReceiver(script: [.badRequest])
        try await Self.withNotifier(refusing) { notifier in
            notifier.notify(.registrationAttemptExistingAccount(email: "bob@example.com"))
            _ = try await refusing.wait(for: 1)
            // Once the delivery has ended, no second attempt can come.
            #expect(try await Self.deliveriesEnd(notifier, count: 1))
            #expect(refusing.received.withLock { $0.count } == 1)
        }
    }

    @Test("a receiver that keeps failing gets one attempt and each retry, then the event is given up")
    func givesUp() async throws {
        let failing = WebhookReceiver(script: Array(repeating: .internalServerError, count: 10))
        try await Self.withNotifier(failing) { notifier in
            notifier.notify(.registrationAttemptExistingAccount(email: "ada@example.com"))
            _ = try await failing.wait(for: 3)
            #expect(try await Self.deliveriesEnd(notifier, count: 1))
            #expect(failing.received.withLock { $0.count } == 1 + Self.fast.retryDelays.count)
        }
    }

    @Test(
        "Standard Webhooks headers: one id per event, kept on retries; a fresh timestamp; a v1 signature of id, timestamp and body"
    )
    func standardWebhooks() async throws {
        let receiver = WebhookReceiver(script: [.serviceUnavailable])
        try await Self.withNotifier(receiver) { notifier in
            notifier.notify(.registrationAttemptExistingAccount(email: "ada@example.com"))
            _ = try await receiver.wait(for: 2)
            notifier.notify(.registrationAttemptExistingAccount(email: "ada@example.com"))
            let received = try await receiver.wait(for: 3)
            #expect(received.count == 3)
            let ids = received.map { $0.id ?? "" }
            #expect(ids[0] == ids[1] && !ids[0].isEmpty)
            #expect(ids[2] != ids[0])
            for delivery in received {
                let timestamp = try #require(delivery.timestamp.flatMap { Int($0) })
                #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 60)
                var message = Data("\(delivery.id ?? "").\(timestamp).".utf8)
                message.append(delivery.body)
                let mac = HMAC<SHA256>.authenticationCode(
                    for: message, using: SymmetricKey(data: Data(Self.secret.utf8)))
                #expect(delivery.standardSignature == "v1," + Data(mac).base64EncodedString())
            }
        }
    }

    @Test("a redirect from the receiver is not followed: the signed body goes nowhere else")
    func noRedirects() async throws {
        for status in [HTTPResponse.Status.temporaryRedirect, .permanentRedirect, .found, .seeOther] {
            let receiver = WebhookReceiver(script: [status])
            try await Self.withNotifier(receiver) { notifier in
                notifier.notify(.passwordResetRequested(email: "ada@example.com", token: "tok", expiresAt: Date()))
                _ = try await receiver.wait(for: 1)
                #expect(try await Self.deliveriesEnd(notifier, count: 1))
                #expect(receiver.received.withLock { $0.count } == 1)
                #expect(receiver.redirected.withLock { $0 } == 0)
            }
        }
    }
}
