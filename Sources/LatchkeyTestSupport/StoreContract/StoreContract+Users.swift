import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// The checks of adding, finding and changing users, and text the databases cannot hold.
    func runUsers(on store: any AdminStore) async throws {
        switch self {
        case .addAndFindUser:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h1", createdAt: Self.t0)
            #expect(user.email == "ada@example.com")
            #expect(user.passwordHash == "h1")
            #expect(user.createdAt == Self.t0)
            #expect(try await store.findUser(by: .email("ada@example.com")) == user)
            #expect(try await store.findUser(by: .id(user.id)) == user)
            let other = try await store.addUser(email: "bob@example.com", passwordHash: "h2", createdAt: Self.t0)
            #expect(other.id != user.id)

        case .duplicateEmailIsTyped:
            _ = try await store.addUser(email: "ada@example.com", passwordHash: "h1", createdAt: Self.t0)
            await #expect(throws: StoreError.duplicateEmail) {
                _ = try await store.addUser(email: "ada@example.com", passwordHash: "h2", createdAt: Self.t0)
            }
            #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash == "h1")

        case .concurrentDuplicatesHaveOneWinner:
            let outcomes = await withTaskGroup(of: Result<User, any Error>.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        do {
                            return .success(
                                try await store.addUser(
                                    email: "race@example.com",
                                    passwordHash: "h\(index)",
                                    createdAt: Self.t0
                                )
                            )
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var all: [Result<User, any Error>] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let winners = outcomes.filter { if case .success = $0 { true } else { false } }
            let duplicates = outcomes.filter {
                if case .failure(let error) = $0, error as? StoreError == .duplicateEmail { true } else { false }
            }
            #expect(winners.count == 1)
            #expect(duplicates.count == 15)

        case .unknownUserIsNil:
            #expect(try await store.findUser(by: .email("nobody@example.com")) == nil)
            #expect(try await store.findUser(by: .id(424_242)) == nil)

        case .updateUserChangesHash:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            try await store.updateUser(id: user.id, UserUpdate(passwordHash: "new"))
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "new")
            await #expect(throws: StoreError.notFound) {
                try await store.updateUser(id: user.id + 1000, UserUpdate(passwordHash: "x"))
            }

        case .nulInTextIsInvalidValue:
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                _ = try await store.addUser(email: "a\u{0}b@example.com", passwordHash: "h", createdAt: Self.t0)
            }
            #expect(try await store.findUser(by: .email("a\u{0}b@example.com")) == nil)
            #expect(try await store.findUser(by: .email("a")) == nil)
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                try await store.updateUser(id: user.id, UserUpdate(passwordHash: "x\u{0}y"))
            }
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "h")
            #expect(try await store.findUser(by: .email("ada@example.com\u{0}evil")) == nil)
            #expect(try await store.addSession(Self.session("s", userID: user.id), ifPasswordHash: "h\u{0}") == false)
            // Every other write of text refuses NUL the same way, and every lookup by text finds nothing.
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                _ = try await store.replacePasswordHash(userID: user.id, from: "h", to: "n\u{0}")
            }
            #expect(try await store.replacePasswordHash(userID: user.id, from: "h\u{0}", to: "n") == false)
            try await store.setResetToken(Self.resetToken("r", userID: user.id))
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                _ = try await store.resetPassword(
                    userID: user.id, digest: Self.digest("r"), passwordHash: "n\u{0}", now: Self.t0)
            }
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "h")
            let key = ThrottleKey(.login, "ada@example.com")
            let record = ThrottleRecord(count: 1, firstAt: Self.t0, lastAt: Self.t0)
            try await store.updateThrottleRecord(key) { _ in record }
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                try await store.updateThrottleRecord(ThrottleKey(.login, "ada@example.com\u{0}x")) { _ in record }
            }
            #expect(try await store.throttleRecord(ThrottleKey(.login, "ada@example.com\u{0}x")) == nil)
            #expect(try await store.throttleRecord(key) == record)
            #expect(try await store.listUsers(after: "a\u{0}", limit: 10, now: Self.t0, idleCutoff: Self.t0).isEmpty)

        case .addressesCompareAsBytes:
            // Canonically equivalent text (NFC and NFD) is two addresses to a store: only
            // `EmailAddress` decides what is one mailbox.
            let nfc = try await store.addUser(email: "l\u{E9}a@example.com", passwordHash: "h", createdAt: Self.t0)
            let nfd = try await store.addUser(email: "le\u{301}a@example.com", passwordHash: "h", createdAt: Self.t0)
            #expect(nfc.id != nfd.id)
            #expect(try await store.findUser(by: .email("le\u{301}a@example.com"))?.id == nfd.id)
            #expect(try await store.findUser(by: .email("l\u{E9}a@example.com"))?.id == nfc.id)
            #expect(try await !store.hasEmailConflict(canonical: "l\u{E9}a@example.com"))
            #expect(try await !store.hasEmailConflict(userID: nfc.id))
            #expect(try await store.emailConflicts().isEmpty)

        default:
            Issue.record("\(self) is not one of these checks")
        }
    }
}
