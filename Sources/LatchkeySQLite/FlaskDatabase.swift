import Foundation
import GRDB
import LatchkeyCore

/// The SQLite file of the original Flask service, read for `latchkey import-flask`.
///
/// The original stores its users in a `users` table with `email` and `hashed_password`
/// columns (SQLAlchemy's `String` or `LargeBinary`, so the hash is text or bytes).
public enum FlaskDatabase {
    /// Why the file could not be read; `description` is one line for the operator.
    public struct ReadError: Error, CustomStringConvertible, Equatable {
        /// The one-line reason.
        public let description: String
    }

    /// Reads every row of the `users` table, in storage (`rowid`) order, opening the file
    /// read-only.
    /// - Parameters:
    ///   - path: The file.
    ///   - progress: Called after every 10,000 rows with the rows read so far and the total.
    /// - Returns: One `ImportedRow` per row, numbered from 1. A value that is neither text nor
    ///   bytes, or bytes that are not UTF-8, becomes an empty string, which the import reports
    ///   as malformed.
    /// - Throws: `ReadError` when the file does not exist, is not an SQLite database, or has no
    ///   `users` table with `email` and `hashed_password` columns.
    public static func readUsers(
        at path: String, progress: (_ read: Int, _ total: Int) -> Void = { _, _ in }
    ) throws(ReadError) -> [ImportedRow] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ReadError(description: "no such file: \(path)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                guard try db.tableExists("users") else {
                    throw ReadError(description: "\(path) has no users table")
                }
                let columns = Set(try db.columns(in: "users").map { $0.name.lowercased() })
                guard columns.contains("email"), columns.contains("hashed_password") else {
                    throw ReadError(description: "\(path): the users table has no email and hashed_password columns")
                }
                let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0
                var rows: [ImportedRow] = []
                rows.reserveCapacity(total)
                let cursor = try Row.fetchCursor(db, sql: "SELECT email, hashed_password FROM users ORDER BY rowid")
                var number = 0
                while let row = try cursor.next() {
                    number += 1
                    rows.append(ImportedRow(row: number, email: text(row[0]), passwordHash: text(row[1])))
                    if number % 10_000 == 0 { progress(number, total) }
                }
                return rows
            }
        } catch let error as ReadError {
            throw error
        } catch {
            throw ReadError(description: "cannot read \(path): \(error)")
        }
    }

    /// A text or blob column as text; anything else (or invalid UTF-8) as an empty string.
    private static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .string(let string): string
        case .blob(let data): String(data: data, encoding: .utf8) ?? ""
        default: ""
        }
    }
}
