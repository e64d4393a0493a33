import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

/// A value in the configuration that cannot be used; start-up stops with its one-line reason.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The one-line reason.
    public var description: String

    /// Creates an error.
    /// - Parameter description: The one-line reason.
    public init(_ description: String) {
        self.description = description
    }
}
