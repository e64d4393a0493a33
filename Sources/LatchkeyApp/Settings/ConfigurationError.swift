import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

/// Values in the configuration that cannot be used; start-up stops with one line per problem,
/// every one found at once (`Error: SETTING: reason`).
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// Each problem's one-line reason, naming its setting, in the order the settings are read.
    public var problems: [String]

    /// The problems as the command line prints them: the first line after the `Error: ` the
    /// argument parser writes, each later one with an `Error: ` of its own.
    public var description: String {
        problems.joined(separator: "\nError: ")
    }

    /// Creates an error with one problem.
    /// - Parameter description: The one-line reason.
    public init(_ description: String) {
        self.problems = [description]
    }

    /// Creates an error with several problems.
    /// - Parameter problems: The one-line reasons, at least one.
    public init(problems: [String]) {
        self.problems = problems
    }
}
