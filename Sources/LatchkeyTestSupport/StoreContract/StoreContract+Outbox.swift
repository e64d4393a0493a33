import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// A message at `t0` (a token message when `token`), with a payload of its id's bytes.
    static func message(
        _ seed: String, userID: Int64?, token: Bool = false, event: String = "password_changed",
        at createdAt: Date = t0
    ) -> OutboxMessage {
        OutboxMessage(
            id: "msg_" + seed, channel: .webhook, event: event, recipient: "ada@example.com", userID: userID,
            carriesToken: token, payload: Data(("sealed " + seed).utf8), language: "fr", createdAt: createdAt)
    }

    /// The ids of the rows in a state, sorted.
    static func ids(_ store: any AdminStore, _ status: OutboxStatus) async throws -> [String] {
        try await store.outboxEntries(status: status, limit: 1000).map(\.message.id).sorted()
    }

    /// The checks of the outbox.
    func runOutbox(on store: any AdminStore) async throws {
        let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
        switch self {
        case .messagesCommitWithTheirChangeOnly:
            // A change that happens writes its messages; one refused writes none.
            let session = Self.session("s", userID: ada.id)
            try await Self.addSession(store, session)
            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "wrong", to: "h2", keeping: session.tokenDigest, as: Self.digest("s2"),
                    revoking: .passwordChange, messages: [Self.message("refused", userID: ada.id)]) == false)
            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "h", to: "h2", keeping: session.tokenDigest, as: Self.digest("s2"),
                    revoking: .passwordChange, messages: [Self.message("changed", userID: ada.id)]))
            try await store.setResetToken(
                Self.resetToken("r", userID: ada.id), messages: [Self.message("reset", userID: ada.id, token: true)])
            #expect(
                try await store.deleteSecondFactor(
                    userID: ada.id, ifRevision: nil, messages: [Self.message("no-factor", userID: ada.id)]) == false)
            #expect(
                try await store.consumeRecoveryCode(
                    userID: ada.id, digests: [Self.bytes("none")], messages: [Self.message("no-code", userID: ada.id)])
                    == nil)
            let token = VerificationToken(
                userID: ada.id, email: "ada.new@example.com", tokenDigest: Self.digest("v"), createdAt: Self.t0,
                expiresAt: Self.t0.addingTimeInterval(3600))
            try await store.setVerificationToken(token, messages: [Self.message("verify", userID: ada.id, token: true)])
            #expect(
                try await store.consumeVerificationToken(
                    token, now: Self.t0.addingTimeInterval(7200), proving: nil,
                    messages: [Self.message("expired", userID: ada.id)]) == .invalid)
            #expect(
                try await store.consumeVerificationToken(
                    token, now: Self.t0, proving: nil, messages: [Self.message("moved", userID: ada.id)])
                    == .changed(from: "ada@example.com"))
            // A user that is gone takes no token, and its message is not written.
            await #expect(throws: StoreError.self) {
                try await store.setVerificationToken(
                    VerificationToken(
                        userID: 9999, email: "x@example.com", tokenDigest: Self.digest("x"), createdAt: Self.t0,
                        expiresAt: Self.t0.addingTimeInterval(60)),
                    messages: [Self.message("orphan", userID: 9999, token: true)])
            }
            #expect(
                try await Self.ids(store, .pending) == ["msg_changed", "msg_moved", "msg_reset", "msg_verify"])
            // Deleting the account drops its pending token messages and keeps the rest.
            try await store.enqueue([Self.message("notice", userID: ada.id)])
            #expect(try await store.deleteUser(id: ada.id, messages: [Self.message("deleted", userID: ada.id)]))
            #expect(
                try await Self.ids(store, .pending) == [
                    "msg_changed", "msg_deleted", "msg_moved", "msg_notice",
                ])
            let kept = try #require(try await store.outboxEntry(id: "msg_deleted"))
            #expect(kept.message.userID == ada.id && kept.message.language == "fr" && kept.attempts == 0)
            #expect(kept.message.payload.isEmpty, "entries are read without their payload")
        case .claimsLeaseAndSettleMessages:
            try await store.enqueue([
                Self.message("a", userID: ada.id, token: true), Self.message("b", userID: nil),
                Self.message("later", userID: nil, at: Self.t0.addingTimeInterval(60)),
            ])
            let pending = try await store.pendingMessages()
            #expect(pending.count == 3 && pending.firstDue == Self.t0)
            let lease = Self.t0.addingTimeInterval(20)
            let first = try await store.claimMessages(now: Self.t0, leaseUntil: lease, limit: 10, claim: "one")
            #expect(first.map(\.message.id).sorted() == ["msg_a", "msg_b"])
            #expect(first.allSatisfy { $0.attempts == 1 && $0.claim == "one" && $0.nextAttemptAt == lease })
            #expect(first.first { $0.message.id == "msg_a" }?.message.payload == Data("sealed a".utf8))
            // Claimed rows are not due until the lease runs out.
            #expect(
                try await store.claimMessages(
                    now: Self.t0.addingTimeInterval(10), leaseUntil: lease, limit: 10, claim: "two"
                )
                .isEmpty)
            let lapsed = try await store.claimMessages(
                now: Self.t0.addingTimeInterval(30), leaseUntil: Self.t0.addingTimeInterval(50), limit: 1,
                claim: "three")
            #expect(lapsed.count == 1 && lapsed.first?.attempts == 2)
            let taken = try #require(lapsed.first?.message.id)
            // The first claim lost that row: its outcome is not recorded.
            #expect(try await store.settleMessage(id: taken, claim: "one", outcome: .sent(at: Self.t0)) == false)
            #expect(
                try await store.settleMessage(
                    id: taken, claim: "three", outcome: .retry(at: Self.t0.addingTimeInterval(100), error: "503")))
            let retried = try #require(try await store.outboxEntry(id: taken))
            #expect(retried.status == .pending && retried.lastError == "503")
            #expect(retried.nextAttemptAt == Self.t0.addingTimeInterval(100))
            let other = taken == "msg_a" ? "msg_b" : "msg_a"
            #expect(try await store.settleMessage(id: other, claim: "one", outcome: .sent(at: Self.t0)))
            #expect(try await store.settleMessage(id: other, claim: "one", outcome: .sent(at: Self.t0)) == false)
            #expect(try await Self.ids(store, .sent) == [other])
            // Failed after the last attempt: a token's payload goes, a notice's stays for a retry.
            let again = try await store.claimMessages(
                now: Self.t0.addingTimeInterval(100), leaseUntil: Self.t0.addingTimeInterval(120), limit: 10,
                claim: "four")
            #expect(Set(again.map(\.message.id)) == [taken, "msg_later"])
            for row in again {
                #expect(
                    try await store.settleMessage(
                        id: row.message.id, claim: "four",
                        outcome: .failed(at: Self.t0.addingTimeInterval(101), error: "gone")))
            }
            #expect(try await Self.ids(store, .failed) == [taken, "msg_later"].sorted())
            #expect(try await store.pendingMessages().count == 0)
            let listed = try await store.outboxEntries(status: nil, limit: 10).map(\.message.id)
            #expect(Set(listed) == [taken, "msg_later"], "pending and failed rows, not sent ones")
            #expect(try await store.requeueMessage(id: "msg_a", now: Self.t0.addingTimeInterval(200)) == false)
            #expect(try await store.requeueMessage(id: "msg_later", now: Self.t0.addingTimeInterval(200)))
            let requeued = try await store.claimMessages(
                now: Self.t0.addingTimeInterval(200), leaseUntil: Self.t0.addingTimeInterval(220), limit: 10,
                claim: "five")
            #expect(requeued.map(\.message.id) == ["msg_later"] && requeued.first?.attempts == 1)
            #expect(requeued.first?.message.payload == Data("sealed later".utf8))
            #expect(try await store.deleteMessage(id: "msg_a"))
            #expect(try await store.deleteMessage(id: "msg_a") == false)
        case .concurrentClaimsNeverShareARow:
            try await store.enqueue((0..<60).map { Self.message("m\($0)", userID: nil) })
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for claimer in 0..<6 {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let claimed = try await store.claimMessages(
                                now: Self.t0, leaseUntil: Self.t0.addingTimeInterval(20), limit: 4, claim: "c\(claimer)"
                            )
                            if claimed.isEmpty { return mine }
                            mine += claimed.map(\.message.id)
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.count == 60 && Set(claims).count == 60)
        case .purgeRemovesOnlyEndedMessages:
            try await store.enqueue([
                Self.message("sent", userID: nil), Self.message("failed", userID: nil),
                Self.message("pending", userID: nil),
            ])
            _ = try await store.claimMessages(
                now: Self.t0, leaseUntil: Self.t0.addingTimeInterval(20), limit: 3, claim: "c")
            _ = try await store.settleMessage(id: "msg_sent", claim: "c", outcome: .sent(at: Self.t0))
            _ = try await store.settleMessage(id: "msg_failed", claim: "c", outcome: .failed(at: Self.t0, error: "x"))
            #expect(try await store.purgeMessages(endedBefore: Self.t0) == 0)
            #expect(try await store.purgeMessages(endedBefore: Self.t0.addingTimeInterval(86_400 * 7)) == 2)
            // A claimed row is still pending, whatever its lease.
            #expect(try await store.outboxEntry(id: "msg_pending")?.status == .pending)
            #expect(try await store.outboxEntry(id: "msg_sent") == nil)
        default:
            Issue.record("not an outbox case: \(self)")
        }
    }
}
