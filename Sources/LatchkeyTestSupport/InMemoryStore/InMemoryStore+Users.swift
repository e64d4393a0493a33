import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Adds a user; a taken email is `StoreError.duplicateEmail`, as with the unique index.
    public func addUser(email: String, passwordHash: String, createdAt: Date) throws -> User {
        try check()
        try StoreError.checkText(email, passwordHash)
        guard userIDsByEmail[Array(email.utf8)] == nil else { throw StoreError.duplicateEmail }
        let user = User(id: nextID, email: email, passwordHash: passwordHash, createdAt: createdAt)
        nextID += 1
        users[user.id] = user
        userIDsByEmail[Array(email.utf8)] = user.id
        return user
    }

    /// Finds a user by id or email, with whether a second factor is active.
    public func findUser(by lookup: UserLookup) throws -> User? {
        try check()
        let id: Int64?
        switch lookup {
        case .id(let key):
            id = key
        case .email(let email):
            id = userIDsByEmail[Array(email.utf8)]
        }
        guard let id, var user = users[id] else { return nil }
        user.secondFactorEnabled = secondFactors[id]?.isActive ?? false
        return user
    }

    /// Changes a user; `StoreError.notFound` when the id is unknown.
    public func updateUser(id: Int64, _ update: UserUpdate) throws {
        try check()
        if let hash = update.passwordHash { try StoreError.checkText(hash) }
        guard var user = users[id] else { throw StoreError.notFound }
        if let hash = update.passwordHash { user.passwordHash = hash }
        users[id] = user
    }

    /// Replaces the hash only while it is `old`.
    public func replacePasswordHash(userID: Int64, from old: String, to new: String) throws -> Bool {
        try check()
        try StoreError.checkText(new)
        guard users[userID]?.passwordHash == old else { return false }
        users[userID]?.passwordHash = new
        return true
    }
}
