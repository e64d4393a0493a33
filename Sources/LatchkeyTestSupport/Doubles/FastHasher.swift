import Crypto
import Foundation
import LatchkeyCore

/// A salted SHA-256 "hasher" for tests of the rules: correct (a hash verifies only its own
/// password) but fast, so that tests do not wait on bcrypt.
public struct FastHasher: PasswordHasher {
    /// Counts the hash and verify calls, to prove that the rules do (or skip) the work.
    public let counter = CallCounter()

    /// A stand-in for bcrypt's cost: written into every hash, compared by `needsRehash`.
    public let version: Int

    /// Creates the hasher.
    /// - Parameter version: The parameter written into new hashes.
    public init(version: Int = 1) {
        self.version = version
    }

    /// Hashes with a fresh random salt and SHA-256.
    public func hash(_ password: String) async throws -> String {
        await counter.recordHash()
        let salt = SecretToken.generate()
        return "fast$\(version)$\(salt)$\(digest(salt: salt, password: password))"
    }

    /// Checks a password against a hash this hasher made (of any version); anything else never matches.
    public func verify(_ password: String, against hash: String) async throws -> Bool {
        await counter.recordVerify()
        let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "fast" else { return false }
        return digest(salt: String(parts[2]), password: password) == parts[3]
    }

    /// Whether a hash of this hasher was made with another version.
    public func needsRehash(_ hash: String) -> Bool {
        let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "fast" && parts[1] != "\(version)"
    }

    private func digest(salt: String, password: String) -> String {
        SHA256.hash(data: Data((salt + password).utf8)).map { String($0, radix: 16) }.joined()
    }
}

/// Counts the calls made to a test hasher.
public actor CallCounter {
    /// The number of hashes made.
    public private(set) var hashes = 0
    /// The number of verifications made.
    public private(set) var verifications = 0

    func recordHash() { hashes += 1 }
    func recordVerify() { verifications += 1 }
}
