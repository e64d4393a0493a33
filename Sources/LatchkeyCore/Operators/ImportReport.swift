import Foundation

/// What an import did with each row.
public struct ImportReport: Sendable, Equatable {
    /// Why a row was skipped.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The email is not one the service accepts; the text says why.
        case malformedEmail(String)
        /// The stored hash is not a bcrypt hash the service can verify.
        case malformedHash
        /// Another row of the file has the same normalised email.
        case duplicateInFile(firstRow: Int)
        /// The email already has an account here.
        case alreadyRegistered
        /// The hash's bcrypt cost is above the import's maximum (`IMPORT_MAX_BCRYPT_COST`).
        case costTooHigh(cost: Int, maximum: Int)

        /// The reason, for the summary.
        public var description: String {
            switch self {
            case .malformedEmail(let why): "malformed email (\(why))"
            case .malformedHash: "not a bcrypt hash"
            case .duplicateInFile(let row): "duplicate of row \(row)"
            case .alreadyRegistered: "already registered"
            case .costTooHigh(let cost, let maximum):
                "bcrypt cost \(cost) is above IMPORT_MAX_BCRYPT_COST (\(maximum)); --allow-high-cost imports it"
            }
        }
    }

    /// A row that was not imported.
    public struct SkippedRow: Sendable, Equatable {
        /// The row's number in the source.
        public var row: Int
        /// Why it was skipped.
        public var reason: Reason
    }

    /// Rows imported.
    public var imported: Int
    /// Rows skipped, with their row numbers and reasons, in row order.
    public var skipped: [SkippedRow]
}

/// A row of another service's user table, as read.
public struct ImportedRow: Sendable, Equatable {
    /// The row's number in the source, for the report.
    public var row: Int
    /// The email as stored there.
    public var email: String
    /// The password hash as stored there.
    public var passwordHash: String

    /// Creates a row.
    /// - Parameters:
    ///   - row: The row's number.
    ///   - email: The email as stored.
    ///   - passwordHash: The hash as stored.
    public init(row: Int, email: String, passwordHash: String) {
        self.row = row
        self.email = email
        self.passwordHash = passwordHash
    }
}
