import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// Inserts a user; the unique index `users_email` turns a taken email into `StoreError.duplicateEmail`.
    public func addUser(email: String, passwordHash: String, createdAt: Date) async throws -> User {
        try StoreError.checkText(email, passwordHash)
        let created = createdAt.timeIntervalSince1970
        let id = try await call { client in
            try await client.query(
                """
                INSERT INTO users (email, password_hash, created_at) VALUES (\(email), \(passwordHash), \(created))
                RETURNING id
                """,
                logger: self.logger
            ).collect().first?.decode(Int64.self)
        }
        guard let id else { throw StoreError.unavailable("PostgreSQL returned no id for a new user") }
        return User(id: id, email: email, passwordHash: passwordHash, createdAt: createdAt)
    }

    /// Finds a user by id (primary key) or email (unique index).
    public func findUser(by lookup: UserLookup) async throws -> User? {
        let rows: [User] = try await call { client in
            let query: PostgresQuery
            switch lookup {
            case .id(let id):
                query = "SELECT \(unescaped: Self.userColumns) FROM users WHERE id = \(id)"
            case .email(let email):
                // No stored email holds a NUL, and PostgreSQL would refuse to compare one.
                if email.utf8.contains(0) { return [] }
                query = "SELECT \(unescaped: Self.userColumns) FROM users WHERE email = \(email)"
            }
            return try await client.query(query, logger: self.logger).collect().map { row in
                let (id, email, hash, created, verified, mfa) = try row.decode(
                    (Int64, String, String, Double, Bool, Bool).self)
                return User(
                    id: id, email: email, passwordHash: hash, createdAt: Date(timeIntervalSince1970: created),
                    emailVerified: verified, secondFactorEnabled: mfa)
            }
        }
        return rows.first
    }

    /// The columns `findUser(by:)` reads.
    static let userColumns = "id, email, password_hash, created_at, email_verified, mfa_enabled"

    /// Updates a user; `StoreError.notFound` when the id is unknown.
    public func updateUser(id: Int64, _ update: UserUpdate) async throws {
        if let hash = update.passwordHash { try StoreError.checkText(hash) }
        let found = try await call { client in
            let rows: [PostgresRow]
            if let hash = update.passwordHash {
                rows = try await client.query(
                    "UPDATE users SET password_hash = \(hash) WHERE id = \(id) RETURNING id", logger: self.logger
                ).collect()
            } else {
                rows = try await client.query("SELECT id FROM users WHERE id = \(id)", logger: self.logger).collect()
            }
            return !rows.isEmpty
        }
        if !found { throw StoreError.notFound }
    }

    /// Replaces the hash only while it is still `old`, in one statement.
    public func replacePasswordHash(userID: Int64, from old: String, to new: String) async throws -> Bool {
        try StoreError.checkText(new)
        if old.utf8.contains(0) { return false }
        return try await call { client in
            try await !client.query(
                """
                UPDATE users SET password_hash = \(new) WHERE id = \(userID) AND password_hash = \(old) RETURNING 1
                """,
                logger: self.logger
            ).collect().isEmpty
        }
    }

    /// Whether accounts sharing a canonical address are listed as email conflicts.
    public func hasEmailConflict(canonical: String) async throws -> Bool {
        if canonical.utf8.contains(0) { return false }
        return try await call { client in
            try await !client.query(
                "SELECT 1 FROM email_conflicts WHERE canonical = \(canonical) LIMIT 1", logger: self.logger
            ).collect().isEmpty
        }
    }

    /// Whether an account is listed among the email conflicts.
    public func hasEmailConflict(userID: Int64) async throws -> Bool {
        try await call { client in
            try await !client.query(
                "SELECT 1 FROM email_conflicts WHERE user_id = \(userID)", logger: self.logger
            ).collect().isEmpty
        }
    }
}
