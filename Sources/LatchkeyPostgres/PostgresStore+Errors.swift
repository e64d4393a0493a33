import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// Turns driver errors into the store errors every store shares, and tells whether the
    /// connection to the database is in doubt (which starts the reconnect loop).
    static func translate(_ error: any Error) -> (error: StoreError, connectionLost: Bool) {
        switch error {
        case let error as StoreError:
            return (error, false)
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.beginError ?? error.commitError {
                return translate(inner)
            }
            return (.unavailable("PostgreSQL transaction failed"), true)
        case is DeadlineExceeded:
            return (.unavailable("PostgreSQL did not answer in time"), true)
        case is CancellationError:
            return (.unavailable("the call was cancelled"), false)
        case let error as PSQLError where error.code == .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "no message"
            switch state {
            case "23505" where error.serverInfo?[.constraintName] == "users_email":
                return (.duplicateEmail, false)
            case "23503":
                return (.notFound, false)
            case "22021", "22P05":
                return (.invalidValue("text the database cannot store: \(message)"), false)
            case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300":
                // Connection exceptions, an operator shutdown, too many connections.
                return (.unavailable("PostgreSQL error \(state): \(message)"), true)
            default:
                return (.unavailable("PostgreSQL error \(state): \(message)"), false)
            }
        case let error as PSQLError:
            return (.unavailable("PostgreSQL connection: \(error.code)"), true)
        default:
            return (.unavailable("PostgreSQL: \(error)"), true)
        }
    }
}
