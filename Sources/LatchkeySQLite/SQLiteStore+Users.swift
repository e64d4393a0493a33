import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Inserts a user; the unique index `users_email` turns a taken email into `StoreError.duplicateEmail`.
    public func addUser(email: String, passwordHash: String, createdAt: Date) async throws -> User {
        try StoreError.checkText(email, passwordHash)
        return try await write { db in
            try db.execute(
                sql: "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)",
                arguments: [email, passwordHash, createdAt.timeIntervalSince1970]
            )
            return User(id: db.lastInsertedRowID, email: email, passwordHash: passwordHash, createdAt: createdAt)
        }
    }

    /// Finds a user by id (primary key) or email (unique index), on a read-only connection on the calling thread.
    public func findUser(by lookup: UserLookup) async throws -> User? {
        // No stored email holds a NUL, and SQLite would compare only up to it.
        if case .email(let email) = lookup, email.utf8.contains(0) { return nil }
        return try readHere { db in
            let row: Row?
            switch lookup {
            case .id(let id):
                row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT \(Self.userColumns) FROM users WHERE id = ?"),
                    arguments: [id]
                )
            case .email(let email):
                row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT \(Self.userColumns) FROM users WHERE email = ?"),
                    arguments: [email]
                )
            }
            return row.map(Self.user(from:))
        }
    }

    /// Updates a user in one write transaction; `StoreError.notFound` when the id is unknown.
    public func updateUser(id: Int64, _ update: UserUpdate) async throws {
        if let hash = update.passwordHash { try StoreError.checkText(hash) }
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [id]) == true else {
                throw StoreError.notFound
            }
            if let hash = update.passwordHash {
                try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [hash, id])
            }
        }
    }

    /// Replaces the hash only while it is still `old`, in one statement.
    public func replacePasswordHash(userID: Int64, from old: String, to new: String) async throws -> Bool {
        try StoreError.checkText(new)
        if old.utf8.contains(0) { return false }
        return try await write { db in
            try db.execute(
                sql: "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                arguments: [new, userID, old])
            return db.changesCount == 1
        }
    }

    /// The columns `user(from:)` reads, in its order.
    static let userColumns = "id, email, password_hash, created_at, email_verified, mfa_enabled"

    static func user(from row: Row) -> User {
        User(
            id: row[0], email: row[1], passwordHash: row[2], createdAt: Date(timeIntervalSince1970: row[3]),
            emailVerified: row[4], secondFactorEnabled: row[5])
    }

    /// Whether accounts sharing a canonical address are listed as email conflicts.
    public func hasEmailConflict(canonical: String) async throws -> Bool {
        if canonical.utf8.contains(0) { return false }
        return try readHere { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM email_conflicts WHERE canonical = ?)"),
                arguments: [canonical]) ?? false
        }
    }

    /// Whether an account is listed among the email conflicts.
    public func hasEmailConflict(userID: Int64) async throws -> Bool {
        try readHere { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM email_conflicts WHERE user_id = ?)"),
                arguments: [userID]) ?? false
        }
    }
}
