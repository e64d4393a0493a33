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
    /// Whether an answer's head is followed by a body that never ends.
    let stalls: Bool

    init(script: [HTTPResponse.Status] = [], stalls: Bool = false) {
        self.script = Mutex(script)
        self.stalls = stalls
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
            if self.stalls {
                return Response(
                    status: status, headers: headers,
                    body: ResponseBody { writer in
                        try await writer.write(ByteBuffer(string: "{"))
                        try await Task.sleep(for: .seconds(5))
                        try await writer.finish(nil)
                    })
            }
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

/// An `Auth` over an in-memory store whose events go to the webhook, with the delivery service
/// running against a local receiver.
struct DeliveryRig {
    static let secret = "0123456789abcdef-secret"
    let store = InMemoryStore()
    let auth: Auth
    let policy: AuthPolicy

    init() async throws {
        var policy = AuthPolicy()
        policy.tokenDelivery = .webhook
        policy.tokenChannels = [.webhook]
        policy.noticeChannels = [.webhook]
        policy.outboxRetryFirst = 1
        policy.concealExistingAccounts = true
        policy.secondFactorKeyring = try SecondFactorKeyring(current: Data(repeating: 9, count: 32))
        self.policy = policy
        auth = try await Auth(store: store, hasher: FastHasher(), policy: policy, logger: CapturedLog().logger)
    }

    /// Runs the delivery service, sending to the receiver, while `body` runs.
    func delivering(
        to receiver: WebhookReceiver, polling pollInterval: Duration = .milliseconds(100),
        timeout: Duration = .seconds(5), _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await receiver.application.test(.live) { client in
            let port = try #require(client.port)
            let sender = WebhookSender(url: "http://127.0.0.1:\(port)/hook", secret: Self.secret, timeout: timeout)
            let delivery = OutboxDelivery(
                auth: auth, senders: [.webhook: sender], logger: CapturedLog().logger, pollInterval: pollInterval)
            let running = Task { try await delivery.run() }
            do {
                try await body()
            } catch {
                running.cancel()
                _ = await running.result
                throw error
            }
            running.cancel()
            _ = await running.result
        }
    }

    /// Waits up to 10 seconds until no message is pending; returns the rows.
    func settled() async throws -> [OutboxEntry] {
        for _ in 0..<500 {
            if try await store.pendingMessages().count == 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return await store.outboxRows
    }
}

@Suite("The outbox's delivery, through the webhook, against a local receiver")
struct OutboxDeliveryTests {
    @Test("an event is POSTed as JSON with an HMAC-SHA256 signature of the exact body; the row is sent and erased")
    func deliversSignedJSON() async throws {
        let rig = try await DeliveryRig()
        let receiver = WebhookReceiver()
        try await rig.delivering(to: receiver) {
            _ = try await rig.auth.registerUser(email: "ada@example.com", password: "b4l0u")
            _ = try await rig.auth.requestPasswordReset(for: "ada@example.com")
            await rig.auth.backgroundWorkSettled()
            let rows = try await rig.settled()
            let reset = try #require(rows.first { $0.message.event == "password_reset_requested" })
            #expect(reset.status == .sent && reset.attempts == 1 && reset.message.payload.isEmpty)
            let received = try await receiver.wait(for: rows.count)
            let request = try #require(received.first { $0.id == reset.message.id })
            #expect(request.contentType == "application/json")
            let object = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: String])
            #expect(object["event"] == "password_reset_requested" && object["email"] == "ada@example.com")
            #expect(object["reset_token"]?.count == 43)
            let mac = HMAC<SHA256>.authenticationCode(
                for: request.body, using: SymmetricKey(data: Data(DeliveryRig.secret.utf8)))
            #expect(request.signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
            var message = Data("\(reset.message.id).\(request.timestamp ?? "").".utf8)
            message.append(request.body)
            let standard = HMAC<SHA256>.authenticationCode(
                for: message, using: SymmetricKey(data: Data(DeliveryRig.secret.utf8)))
            #expect(request.standardSignature == "v1," + Data(standard).base64EncodedString())
            let timestamp = try #require(request.timestamp.flatMap { Int($0) })
            #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 60)
        }
    }

    @Test("a receiver that sends a head and stalls in its body fails the send after the timeout, not never")
    func aStalledBodyTimesOut() async throws {
        let rig = try await DeliveryRig()
        let receiver = WebhookReceiver(stalls: true)
        try await rig.delivering(to: receiver, timeout: .seconds(1)) {
            _ = try await rig.auth.registerUser(email: "ada@example.com", password: "b4l0u")
            for _ in 0..<500 where await rig.store.outboxRows.first?.lastError == nil {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(await rig.store.outboxRows.first?.lastError == "the webhook did not answer within 1 s")
        }
    }

    @Test("a commit wakes the sender of its node: a new message goes out without waiting for the next poll")
    func aCommitWakesTheSender() async throws {
        let rig = try await DeliveryRig()
        let receiver = WebhookReceiver()
        // Polling once a minute: only the commit's bell can send the message within the wait below.
        try await rig.delivering(to: receiver, polling: .seconds(60)) {
            // Let the service make its first claim (nothing is due) and go to sleep.
            try await Task.sleep(for: .milliseconds(200))
            _ = try await rig.auth.registerUser(email: "ada@example.com", password: "b4l0u")
            let received = try await receiver.wait(for: 1)
            #expect(received.count == 1)
        }
    }

    @Test("a failed send is tried again after the first delay, under the same webhook-id; its error is kept meanwhile")
    func retriesUnderOneID() async throws {
        for failure in [HTTPResponse.Status.serviceUnavailable, .badRequest, .temporaryRedirect] {
            let rig = try await DeliveryRig()
            let receiver = WebhookReceiver(script: [failure])
            try await rig.delivering(to: receiver) {
                // The verification token of a registration: one message.
                _ = try await rig.auth.registerUser(email: "ada@example.com", password: "b4l0u")
                let received = try await receiver.wait(for: 2)
                #expect(received.count == 2)
                #expect(Set(received.map(\.id)).count == 1 && received.first?.id?.hasPrefix("msg_") == true)
                #expect(Set(received.map(\.body)).count == 1)
                // A redirect is never followed: the signed body goes nowhere else.
                #expect(receiver.redirected.withLock { $0 } == 0)
                let row = try #require(try await rig.settled().first)
                #expect(row.status == .sent && row.attempts == 2)
                #expect(row.lastError == "the webhook answered \(failure.code)")
            }
        }
    }

    @Test("after the last attempt the row is failed: a token message's payload is erased, a notice's kept")
    func failsAfterTheLastAttempt() async throws {
        let rig = try await DeliveryRig()
        _ = try await rig.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await rig.auth.requestPasswordReset(for: "ada@example.com")
        _ = try await rig.auth.registerUser(email: "ada@example.com", password: "an0ther-passw0rd")
        await rig.auth.backgroundWorkSettled()
        let schedule = OutboxSchedule(firstDelay: 1)
        // Each attempt fails; the last one fails the row.
        for attempt in 1...schedule.attempts {
            let claimed = try await rig.auth.claimMessages(limit: 10, lease: .seconds(20))
            #expect(claimed.count == 3)
            for message in claimed {
                #expect(message.attempt == attempt)
                let outcome = await rig.auth.settle(message, failure: "down")
                if attempt < schedule.attempts {
                    guard case .retry(let at, "down") = outcome else {
                        Issue.record("expected a retry, got \(String(describing: outcome))")
                        continue
                    }
                    let delay = at.timeIntervalSinceNow
                    let nominal = Double(schedule.delays[attempt - 1])
                    #expect(delay > nominal * 0.8 - 1 && delay <= nominal * 1.2)
                    // Due again: move the row's time back so that the next claim takes it.
                    await rig.store.makeDue(id: message.id)
                } else {
                    guard case .failed = outcome else {
                        Issue.record("expected the row failed")
                        continue
                    }
                }
            }
        }
        let rows = await rig.store.outboxRows
        #expect(rows.allSatisfy { $0.status == .failed && $0.lastError == "down" })
        #expect(rows.filter { $0.message.carriesToken }.allSatisfy { $0.message.payload.isEmpty })
        #expect(rows.filter { !$0.message.carriesToken }.map { $0.message.payload.isEmpty } == [false])
        #expect(try await rig.auth.outboxEntries(failedOnly: true).count == 3)

        // An operator's retry: a notice goes again as it was; a token is replaced by a new one.
        let notice = try #require(rows.first { !$0.message.carriesToken }?.message)
        let reset = try #require(rows.first { $0.message.event == "password_reset_requested" }?.message)
        #expect(try await rig.auth.retryMessage(id: notice.id) == .requeued)
        #expect(try await rig.auth.retryMessage(id: notice.id) == .notFailed)
        #expect(try await rig.auth.retryMessage(id: "msg_nothing") == .notFailed)
        #expect(try await rig.auth.retryMessage(id: reset.id) == .reissued)
        #expect(await rig.store.outboxRows.contains { $0.message.id == reset.id } == false)
        let pending = await rig.store.outboxRows.filter { $0.status == .pending }
        #expect(Set(pending.map(\.message.event)) == [notice.event, reset.event])
        let reissued = try #require(pending.first { $0.message.event == reset.event })
        #expect(reissued.attempts == 0 && reissued.message.id != reset.id)
        let events = await rig.store.outboxEvents(keyring: rig.policy.secondFactorKeyring)
        let token = try #require(events.first { $0.name == "password_reset_requested" }?.fields["reset_token"] ?? nil)
        _ = try await rig.auth.updatePassword(resetToken: token, email: "ada@example.com", newPassword: "n3w-passw0rd")
    }
}
