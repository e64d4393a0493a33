import Foundation

/// Hashes and verifies passwords. Implementations must not block the caller's executor.
public protocol PasswordHasher: Sendable {
    /// Hashes a password with a fresh salt.
    /// - Parameter password: A password that passed the policy.
    /// - Returns: The encoded hash.
    func hash(_ password: String) async throws -> String

    /// Checks a password against a stored hash.
    /// - Parameters:
    ///   - password: The password to check.
    ///   - hash: The stored hash.
    /// - Returns: Whether they match.
    func verify(_ password: String, against hash: String) async throws -> Bool

    /// Whether a stored hash was made with other parameters than this hasher's (a bcrypt cost
    /// other than the configured one), so that a successful login should store a new hash.
    /// - Parameter hash: The stored hash.
    /// - Returns: `true` when it should be replaced.
    func needsRehash(_ hash: String) -> Bool
}
