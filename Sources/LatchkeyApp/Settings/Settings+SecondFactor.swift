import Foundation
import LatchkeyCore
import Logging
import SystemPackage

extension Settings {
    /// The file a development server keeps the second-factor key it made in.
    public static let developmentKeyFileName = "latchkey-mfa.key"

    /// Reads `MFA_ISSUER`, `MFA_ENCRYPTION_KEY`, `MFA_ENCRYPTION_KEYS_PREVIOUS` and
    /// `MFA_MAX_FAILURES` (waits as the other throttles'). The key's absence is not an error: a
    /// development server makes one (`resolveDevelopmentSecondFactorKey(logger:)`), a production one
    /// answers enrolment with 503.
    static func loadSecondFactor(
        into settings: inout Settings,
        text: (Key) -> String?,
        maxFailures: Int,
        firstWait: Int,
        maxWait: Int
    ) throws(ConfigurationError) {
        if let issuer = text(.secondFactorIssuer) {
            guard (1...100).contains(issuer.utf8.count),
                !issuer.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw ConfigurationError("MFA_ISSUER: must be 1 to 100 bytes of UTF-8 without control characters")
            }
            settings.policy.secondFactorIssuer = issuer
        }
        settings.policy.secondFactorThrottle = FailureThrottle(
            maxFailures: maxFailures, firstWait: firstWait, maxWait: maxWait)
        let previous =
            text(.secondFactorEncryptionKeysPrevious).map {
                $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            } ?? []
        guard let current = text(.secondFactorEncryptionKey) else {
            if !previous.isEmpty {
                throw ConfigurationError("MFA_ENCRYPTION_KEYS_PREVIOUS: needs MFA_ENCRYPTION_KEY, the key that seals")
            }
            return
        }
        do {
            let currentKey = try SecondFactorKeyring.key(base64: current)
            var previousKeys: [Data] = []
            for (index, text) in previous.enumerated() {
                do {
                    previousKeys.append(try SecondFactorKeyring.key(base64: text))
                } catch {
                    throw ConfigurationError("MFA_ENCRYPTION_KEYS_PREVIOUS: key \(index + 1) \(error)")
                }
            }
            settings.policy.secondFactorKeyring = try SecondFactorKeyring(current: currentKey, previous: previousKeys)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("MFA_ENCRYPTION_KEY: \(error) (32 random bytes in base64)")
        }
    }

    /// In development without `MFA_ENCRYPTION_KEY`, the key kept in `latchkey-mfa.key` beside the
    /// SQLite file (in the working folder for PostgreSQL and in-memory databases): read, or made
    /// at first start (32 random bytes, base64, mode 0600), and logged. Several nodes need the
    /// same key, given as `MFA_ENCRYPTION_KEY`. Nothing happens in production or with a key set.
    /// - Parameter logger: Where the key file's use is said (never the key).
    /// - Throws: `ConfigurationError` when the file cannot be read, made, or holds no key.
    public mutating func resolveDevelopmentSecondFactorKey(logger: Logger) throws(ConfigurationError) {
        guard policy.secondFactorKeyring == nil, profile == .development else { return }
        var directory = ""
        if case .sqlite(.file(let path)) = database {
            directory = (path as NSString).deletingLastPathComponent
        }
        let path = directory.isEmpty ? Self.developmentKeyFileName : directory + "/" + Self.developmentKeyFileName
        let made = try Self.makeKeyFile(at: path)
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("\(path): cannot be read (\(error.localizedDescription))")
        }
        do {
            policy.secondFactorKeyring = try SecondFactorKeyring(current: SecondFactorKeyring.key(base64: text))
        } catch {
            throw ConfigurationError("\(path): \(error); remove it to have a new key made, or set MFA_ENCRYPTION_KEY")
        }
        secondFactorKeyFile = path
        logger.notice(
            made ? "made a second-factor key for development" : "second-factor key read from its development file",
            metadata: [
                "file": "\(path)", "note": "every node needs the same key: set MFA_ENCRYPTION_KEY in production",
            ])
    }

    /// Makes the key file unless it exists, readable by its owner alone. The key is written whole
    /// to a file of this process's own, then hard-linked to `path`, which fails when `path`
    /// exists: nodes starting together in one folder agree on one key, and none reads a file
    /// another has made but not yet written.
    /// - Returns: Whether it was made now.
    private static func makeKeyFile(at path: String) throws(ConfigurationError) -> Bool {
        if FileManager.default.fileExists(atPath: path) { return false }
        let draft = path + ".\(UUID().uuidString).new"
        do {
            let descriptor = try FileDescriptor.open(
                FilePath(draft), .writeOnly, options: [.create, .exclusiveCreate], permissions: [.ownerReadWrite])
            try descriptor.closeAfter {
                _ = try descriptor.writeAll(Array((SecondFactorKeyring.newKey() + "\n").utf8))
            }
        } catch {
            try? FileManager.default.removeItem(atPath: draft)
            throw ConfigurationError("\(path): cannot be made (\(error))")
        }
        defer { try? FileManager.default.removeItem(atPath: draft) }
        do {
            try FileManager.default.linkItem(atPath: draft, toPath: path)
            return true
        } catch {
            // Another process made it first, or the folder refuses links.
            if FileManager.default.fileExists(atPath: path) { return false }
            throw ConfigurationError("\(path): cannot be made (\(error.localizedDescription))")
        }
    }
}
