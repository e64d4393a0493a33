import Crypto
import Foundation

/// The stored form of an outbox payload (the event's JSON), so that a copy of the database holds
/// no usable token: one format byte, then
///
/// - `0x01`: the keyring's current key id (8 bytes) and an AES-256-GCM sealed box (NIST SP
///   800-38D: 12-byte nonce, ciphertext, 16-byte tag) under a key derived from it with
///   HKDF-SHA-256 (RFC 5869, info `latchkey outbox payloads`), the message id as associated data
///   (a payload copied to another row does not open);
/// - `0x00`: the JSON in the clear, only for a notice (it holds no token) written while no key
///   is configured (production with `TOKEN_DELIVERY=response` and no `MFA_ENCRYPTION_KEY`).
public enum MessagePayload {
    /// Why a payload was not sealed or did not open.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A token message was to be written with no key configured.
        case noKeyForToken
        /// No configured key opens it (an unknown key id, another row's payload, altered bytes,
        /// or an erased payload).
        case doesNotOpen

        /// The failure in a sentence.
        public var description: String {
            switch self {
            case .noKeyForToken: "a message with a token cannot be stored without MFA_ENCRYPTION_KEY"
            case .doesNotOpen: "the payload does not open with the configured keys"
            }
        }
    }

    /// Seals a payload.
    /// - Parameters:
    ///   - json: The event's JSON.
    ///   - id: The message's id (the associated data).
    ///   - carriesToken: Whether it holds a token (then a key is required).
    ///   - keyring: The configured keys, if any.
    /// - Returns: The stored form.
    /// - Throws: `Failure.noKeyForToken` for a token with no keyring.
    public static func seal(_ json: Data, id: String, carriesToken: Bool, keyring: SecondFactorKeyring?) throws
        -> Data
    {
        guard let keyring else {
            guard !carriesToken else { throw Failure.noKeyForToken }
            return Data([0x00]) + json
        }
        let key = keyring.current
        let box = try AES.GCM.seal(json, using: SymmetricKey(data: key.messageBytes), authenticating: Data(id.utf8))
        guard let combined = box.combined else { throw Failure.doesNotOpen }
        return Data([0x01]) + key.id + combined
    }

    /// Opens a stored payload.
    /// - Parameters:
    ///   - stored: The stored form.
    ///   - id: The message's id.
    ///   - keyring: The configured keys, if any.
    /// - Returns: The event's JSON.
    /// - Throws: `Failure.doesNotOpen`.
    public static func open(_ stored: Data, id: String, keyring: SecondFactorKeyring?) throws -> Data {
        guard let format = stored.first else { throw Failure.doesNotOpen }
        let body = Data(stored.dropFirst())
        switch format {
        case 0x00:
            return body
        case 0x01:
            guard let keyring, let key = keyring.key(named: body) else { throw Failure.doesNotOpen }
            do {
                let box = try AES.GCM.SealedBox(combined: body.dropFirst(SecondFactorKeyring.keyIDByteCount))
                return try AES.GCM.open(box, using: SymmetricKey(data: key.messageBytes), authenticating: Data(id.utf8))
            } catch {
                throw Failure.doesNotOpen
            }
        default:
            throw Failure.doesNotOpen
        }
    }
}
