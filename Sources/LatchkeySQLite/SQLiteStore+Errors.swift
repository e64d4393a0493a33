import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Turns GRDB's errors into the store errors every store shares.
    static func translate(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            return .unavailable(String(describing: error))
        }
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE where error.message?.contains("users.email") == true:
            return .duplicateEmail
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            return .notFound
        default:
            return .unavailable("SQLite error \(error.resultCode.rawValue): \(error.message ?? "no message")")
        }
    }
}
