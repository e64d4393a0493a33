import Crypto
import Foundation

/// The keys that keep second-factor secrets unreadable in a copy of the database: TOTP secrets
/// are sealed with AES-256-GCM (NIST SP 800-38D) under the current key, the user id as associated
/// data (so that a sealed secret copied to another account does not open), and stored as the
/// key's 8-byte id followed by the sealed box (12-byte nonce, ciphertext, 16-byte tag). Recovery
/// codes are stored as HMAC-SHA-256 under a key derived from it with HKDF-SHA-256 (RFC 5869).
///
/// Older keys (`MFA_ENCRYPTION_KEYS_PREVIOUS`) still open secrets and match recovery codes made
/// under them; what they open is sealed again under the current key when next used.
public struct SecondFactorKeyring: Sendable, Equatable {
    /// The length of a key, in bytes (AES-256).
    public static let keyByteCount = 32
    /// The length of a key id, in bytes: the first bytes of the key's SHA-256.
    public static let keyIDByteCount = 8

    /// One key with its id and the recovery-code key derived from it (bytes: swift-crypto's
    /// `SymmetricKey` is not `Sendable`).
    struct Key: Sendable {
        let id: Data
        let sealingBytes: Data
        let recoveryCodeBytes: Data
        /// The key that seals outbox payloads (`MessagePayload`), kept apart from the one that
        /// seals second-factor secrets.
        let messageBytes: Data

        init(_ bytes: Data) {
            sealingBytes = bytes
            id = Data(SHA256.hash(data: bytes).prefix(SecondFactorKeyring.keyIDByteCount))
            recoveryCodeBytes = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: bytes), info: Data("latchkey recovery codes".utf8),
                outputByteCount: 32
            ).withUnsafeBytes { Data($0) }
            messageBytes = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: bytes), info: Data("latchkey outbox payloads".utf8),
                outputByteCount: 32
            ).withUnsafeBytes { Data($0) }
        }

        var sealing: SymmetricKey { SymmetricKey(data: sealingBytes) }
        var recoveryCodes: SymmetricKey { SymmetricKey(data: recoveryCodeBytes) }
    }

    /// The current key, which seals.
    let current: Key
    /// Older keys, which only open and match.
    let previous: [Key]

    /// The key a sealed value names by its first `keyIDByteCount` bytes.
    func key(named sealed: Data) -> Key? {
        guard sealed.count > Self.keyIDByteCount else { return nil }
        let id = Data(sealed.prefix(Self.keyIDByteCount))
        return ([current] + previous).first { $0.id == id }
    }

    /// Creates a keyring.
    /// - Parameters:
    ///   - current: The current key's 32 bytes.
    ///   - previous: Older keys' 32 bytes each.
    /// - Throws: `SecondFactorKeyError.wrongLength` when a key is not 32 bytes.
    public init(current: Data, previous: [Data] = []) throws {
        for key in [current] + previous where key.count != Self.keyByteCount {
            throw SecondFactorKeyError.wrongLength(key.count)
        }
        self.current = Key(current)
        self.previous = previous.map(Key.init)
    }

    /// Reads a key from its standard base64 text (RFC 4648 section 4), as `MFA_ENCRYPTION_KEY`
    /// holds it; surrounding white space is ignored.
    /// - Parameter text: The base64 text of 32 bytes.
    /// - Returns: The key's bytes.
    /// - Throws: `SecondFactorKeyError.notBase64` or `SecondFactorKeyError.wrongLength`.
    public static func key(base64 text: String) throws -> Data {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SecondFactorKeyError.notBase64
        }
        guard bytes.count == keyByteCount else { throw SecondFactorKeyError.wrongLength(bytes.count) }
        return bytes
    }

    /// A new random key, as base64 text.
    /// - Returns: 32 random bytes from the system's secure generator, in standard base64.
    public static func newKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
    }

    /// Whether two keyrings hold the same keys in the same roles (compared by key id).
    public static func == (left: SecondFactorKeyring, right: SecondFactorKeyring) -> Bool {
        left.current.id == right.current.id && left.previous.map(\.id) == right.previous.map(\.id)
    }

    /// Seals a secret under the current key.
    /// - Parameters:
    ///   - secret: The secret's bytes.
    ///   - userID: The account it belongs to (the associated data).
    /// - Returns: The key id followed by the sealed box.
    /// - Throws: `AuthError.storageUnavailable` when sealing fails (it does not with a valid key).
    func seal(_ secret: Data, userID: Int64) throws -> Data {
        do {
            let box = try AES.GCM.seal(secret, using: current.sealing, authenticating: Self.associatedData(userID))
            guard let combined = box.combined else { throw AuthError.storageUnavailable }
            return current.id + combined
        } catch {
            throw AuthError.storageUnavailable
        }
    }

    /// Opens a sealed secret with whichever key it names.
    /// - Parameters:
    ///   - sealed: The key id followed by the sealed box.
    ///   - userID: The account it must belong to.
    /// - Returns: The secret, and whether it was sealed under the current key; `nil` when no key
    ///   held opens it (an unknown key id, another account's secret, or altered bytes).
    func open(_ sealed: Data, userID: Int64) -> (secret: Data, underCurrentKey: Bool)? {
        guard sealed.count > Self.keyIDByteCount else { return nil }
        let id = Data(sealed.prefix(Self.keyIDByteCount))
        guard let key = ([current] + previous).first(where: { $0.id == id }) else { return nil }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst(Self.keyIDByteCount))
            let secret = try AES.GCM.open(box, using: key.sealing, authenticating: Self.associatedData(userID))
            return (secret, key.id == current.id)
        } catch {
            return nil
        }
    }

    /// The stored form of a recovery code under the current key.
    /// - Parameter code: The code in its canonical form (`RecoveryCode.canonical(_:)`).
    /// - Returns: Its HMAC-SHA-256.
    func recoveryCodeDigest(_ code: String) -> Data {
        Self.digest(code, under: current)
    }

    /// The forms a recovery code may be stored in: under the current key, then each older one.
    /// - Parameter code: The code in its canonical form.
    /// - Returns: One digest per key.
    func recoveryCodeDigests(_ code: String) -> [Data] {
        ([current] + previous).map { Self.digest(code, under: $0) }
    }

    private static func digest(_ code: String, under key: Key) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(code.utf8), using: key.recoveryCodes))
    }

    /// The associated data of a user's secret: the user id, 8 bytes big-endian.
    private static func associatedData(_ userID: Int64) -> Data {
        withUnsafeBytes(of: userID.bigEndian) { Data($0) }
    }
}

/// Why an `MFA_ENCRYPTION_KEY` value was refused.
public enum SecondFactorKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not standard base64.
    case notBase64
    /// The key has this many bytes, not 32.
    case wrongLength(Int)

    /// The reason, to follow the setting's name.
    public var description: String {
        switch self {
        case .notBase64: "is not base64"
        case .wrongLength(let count): "is \(count) bytes, not 32"
        }
    }
}
