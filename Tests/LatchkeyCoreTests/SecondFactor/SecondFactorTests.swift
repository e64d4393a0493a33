import ExtrasBase64
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// A second factor on a fixture: keys, an account with a live session, and its enrolment.
struct SecondFactorFixture {
    static let keyA = Data((0..<32).map { UInt8($0) })
    static let keyB = Data((0..<32).map { UInt8(255 - $0) })

    let fixture: Fixture
    let account: Account
    /// The session that enrolled (at `aal` 2 once confirmed).
    var session: String
    /// The raw TOTP secret.
    var secret = Data()
    var recoveryCodes: [String] = []

    var auth: Auth { fixture.auth }

    /// Registers ada (password `b4l0u`), verifies her address (a second factor needs it) and
    /// logs her in.
    init(policy: AuthPolicy = Self.policy()) async throws {
        fixture = try await Fixture(policy: policy)
        account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await fixture.store.setEmailVerified(userID: account.id, true))
        session = try await fixture.auth.createSession(
            for: fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u"))
    }

    static func policy(keys: SecondFactorKeyring? = try? SecondFactorKeyring(current: keyA)) -> AuthPolicy {
        var policy = AuthPolicy()
        policy.secondFactorKeyring = keys
        return policy
    }

    /// Begins and confirms an enrolment with the current step's code.
    mutating func enrol() async throws {
        let enrolment = try await auth.beginTOTPEnrolment(
            sessionToken: session, password: "b4l0u", origin: SessionOrigin())
        secret = Data(try enrolment.secret.base32decoded())
        let confirmed = try await auth.confirmTOTPEnrolment(
            sessionToken: session, code: TOTP.code(secret: secret, at: fixture.clock.now), origin: SessionOrigin())
        session = confirmed.session.token
        recoveryCodes = confirmed.recoveryCodes
    }

    /// The code of the step `steps` after the current one (the window takes ±1).
    func code(_ steps: Int = 0) -> String {
        TOTP.code(secret: secret, at: fixture.clock.now.addingTimeInterval(TimeInterval(30 * steps)))
    }

    /// Moves the clock to the next step, so that a new code is accepted.
    func nextStep() {
        fixture.clock.advance(by: 30)
    }

    /// Logs in with the password: the first step's token.
    func firstStep() async throws -> String {
        let login = try await auth.validLogin(email: "ada@example.com", password: "b4l0u")
        #expect(login.secondStepRequired)
        return try await auth.issueLoginChallenge(for: login)
    }
}

@Suite("Second factor: keys and codes")
struct SecondFactorPartsTests {
    @Test("a sealed secret opens only for its account, under a key held, unaltered")
    func sealing() throws {
        let keyring = try SecondFactorKeyring(current: SecondFactorFixture.keyA)
        let secret = TOTP.newSecret()
        let sealed = try keyring.seal(secret, userID: 7)
        // Key id, nonce, ciphertext, tag.
        #expect(sealed.count == 8 + 12 + secret.count + 16)
        #expect(keyring.open(sealed, userID: 7)?.secret == secret)
        #expect(keyring.open(sealed, userID: 7)?.underCurrentKey == true)
        #expect(keyring.open(sealed, userID: 8) == nil)
        var altered = sealed
        altered[altered.count - 1] ^= 1
        #expect(keyring.open(altered, userID: 7) == nil)
        #expect(!sealed.contains(secret))
        // An older key opens what it sealed; a keyring without it does not.
        let rotated = try SecondFactorKeyring(current: SecondFactorFixture.keyB, previous: [SecondFactorFixture.keyA])
        #expect(rotated.open(sealed, userID: 7)?.secret == secret)
        #expect(rotated.open(sealed, userID: 7)?.underCurrentKey == false)
        #expect(try SecondFactorKeyring(current: SecondFactorFixture.keyB).open(sealed, userID: 7) == nil)
    }

    @Test("keys are 32 bytes of base64")
    func keys() throws {
        #expect(
            try SecondFactorKeyring.key(base64: SecondFactorFixture.keyA.base64EncodedString() + "\n")
                == SecondFactorFixture.keyA)
        #expect(throws: SecondFactorKeyError.notBase64) { try SecondFactorKeyring.key(base64: "not base64!") }
        #expect(throws: SecondFactorKeyError.wrongLength(16)) {
            try SecondFactorKeyring.key(base64: Data(count: 16).base64EncodedString())
        }
        #expect(throws: SecondFactorKeyError.wrongLength(31)) { try SecondFactorKeyring(current: Data(count: 31)) }
        #expect(try SecondFactorKeyring.key(base64: SecondFactorKeyring.newKey()).count == 32)
    }

    @Test("recovery codes: 24 characters without look-alikes in six groups, at least 112 bits")
    func recoveryCodeShape() {
        let codes = (0..<200).map { _ in RecoveryCode.generate() }
        #expect(Set(codes).count == codes.count)
        for code in codes {
            let groups = code.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.count == 6 && groups.allSatisfy { $0.count == 4 })
            #expect(code.utf8.allSatisfy { $0 == UInt8(ascii: "-") || RecoveryCode.alphabet.contains($0) })
        }
        #expect(!RecoveryCode.alphabet.contains { "01IO".utf8.contains($0) })
        // 24 characters of a 32-letter alphabet: 5 bits each.
        #expect(RecoveryCode.alphabet.count == 32 && RecoveryCode.length * 5 >= 112)
        // Every letter of the alphabet turns up over many codes.
        #expect(Set(codes.joined().utf8).subtracting([UInt8(ascii: "-")]).count == 32)
    }

    @Test("recovery codes are taken with or without separators, in either case, and nothing else")
    func recoveryCodeInput() {
        let code = "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ"
        let canonical = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        #expect(RecoveryCode.canonical(code) == canonical)
        #expect(RecoveryCode.canonical(code.lowercased()) == canonical)
        #expect(RecoveryCode.canonical("abcd efgh jklm npqr stuv wxyz") == canonical)
        #expect(RecoveryCode.canonical(canonical.lowercased()) == canonical)
        #expect(RecoveryCode.canonical("ABCD-EFGH-JKLM-NPQR-STUV-WXY") == nil)
        #expect(RecoveryCode.canonical("ABCD-EFGH-JKLM-NPQR-STUV-WXYZ2") == nil)
        #expect(RecoveryCode.canonical("ABCD-EFGH-JKLM-NPQR-STUV-WXY0") == nil)
        #expect(RecoveryCode.canonical("ABCD-EFGH-JKLM-NPQR-STUV-WXYI") == nil)
        #expect(RecoveryCode.canonical("ÀBCD-EFGH-JKLM-NPQR-STUV-WXYZ") == nil)
        #expect(RecoveryCode.canonical("123456") == nil)
    }

    @Test("the key URI writes every parameter and percent-encodes the label and issuer")
    func keyURI() {
        let secret = Data("12345678901234567890".utf8)
        #expect(TOTP.base32(secret) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        #expect(
            TOTP.keyURI(issuer: "Latchkey", account: "ada@example.com", secret: secret)
                == "otpauth://totp/Latchkey:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                + "&issuer=Latchkey&algorithm=SHA1&digits=6&period=30")
        #expect(
            TOTP.keyURI(issuer: "Acme & Co: Ünit", account: "zoë+1@例え.jp", secret: secret)
                == "otpauth://totp/Acme%20%26%20Co%3A%20%C3%9Cnit:zo%C3%AB%2B1%40%E4%BE%8B%E3%81%88.jp"
                + "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20%26%20Co%3A%20%C3%9Cnit"
                + "&algorithm=SHA1&digits=6&period=30")
        #expect(TOTP.newSecret().count == 20)
    }
}
