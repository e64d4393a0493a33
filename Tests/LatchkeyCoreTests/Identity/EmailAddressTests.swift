import Foundation
import Testing

@testable import LatchkeyCore

@Suite("Email addresses: one canonical form per mailbox")
struct EmailAddressTests {
    @Test(
        "spellings of one mailbox give one canonical address",
        arguments: [
            ("l\u{E9}a@example.com", "le\u{301}a@example.com"),  // NFC and NFD
            ("anna@b\u{FC}cher.example", "anna@xn--bcher-kva.example"),  // U-label and A-label
            ("ANNA@B\u{DC}CHER.EXAMPLE", "anna@xn--bcher-kva.example"),
            ("  Ada@Example.COM\n", "ada@example.com"),
            ("\u{FF41}\u{FF44}\u{FF41}@example.com", "ada@example.com"),  // fullwidth letters
            ("stra\u{DF}e@example.com", "strasse@example.com"),  // full case folding
            ("\u{212A}elvin@example.com", "kelvin@example.com"),  // the Kelvin sign
            ("\u{FB01}le@example.com", "file@example.com"),  // a compatibility ligature
            ("ada@\u{FF45}xample.com", "ada@example.com"),  // a fullwidth domain
            ("m\u{FC}ller@m\u{FC}nchen.de", "m\u{FC}ller@xn--mnchen-3ya.de"),
        ]
    )
    func oneMailbox(first: String, second: String) throws {
        #expect(try EmailAddress(first) == EmailAddress(second))
    }

    @Test(
        "the canonical form: folded local part, A-label domain",
        arguments: [
            ("anna@b\u{FC}cher.example", "anna@xn--bcher-kva.example"),
            ("fa\u{DF}@fa\u{DF}.de", "fass@xn--fa-hia.de"),  // UTS #46 non-transitional: ß stays in the domain
            ("L\u{C9}A@Example.ORG", "l\u{E9}a@example.org"),
            ("user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk"),
            ("o'brien@example.ie", "o'brien@example.ie"),
        ]
    )
    func canonicalForm(raw: String, canonical: String) throws {
        let address = try EmailAddress(raw)
        #expect(address.value == canonical)
        // Canonicalising the canonical form changes nothing.
        #expect(try EmailAddress(address.value) == address)
    }

    @Test(
        "invisible and control characters are refused before any normalisation, naming the code point",
        arguments: [
            "bob@exa\u{AD}mple.org", "b\u{200B}ob@example.org", "bob\u{200D}@example.org", "\u{FEFF}bob@example.org",
            "bob@example\u{2060}.org", "bo\u{200C}b@example.org", "bob@example.org\u{180E}", "b\u{34F}ob@example.org",
            "bob\u{7}@example.org", "bob@exam\u{85}ple.org", "b\u{115F}ob@example.org", "bob\u{E0041}@example.org",
            // At either end too: U+200B is not white space, and must not be trimmed away.
            "\u{200B}bob@example.org", "bob@example.org\u{200B}", "\u{FEFF}bob@example.org ",
            " bob@example.org\u{2060}",
        ]
    )
    func invisibleRefused(raw: String) {
        #expect {
            _ = try EmailAddress(raw)
        } throws: { error in
            guard case AuthError.invalidEmail(let reason) = error else { return false }
            return reason.hasPrefix("email must not contain invisible or control characters (U+")
        }
    }

    @Test(
        "what is not a mailbox is refused",
        arguments: [
            "x\u{FF20}evil.test@example.org",  // a fullwidth @: two once width is folded
            "a,b@example.com", "a<b>@example.com", "\"a\"@example.com", "a(comment)@example.com", "a b@example.com",
            "a@[127.0.0.1]", "a@[IPv6:::1]", "a@example.com.", "a..b@example.com", ".a@example.com", "a.@example.com",
            "a@-example.com", "a@example-.com", "a@example", "a@example.123", "a@exa_mple.com", "a@xn--zz.example",
            "a@ab--cd.com", "a@example..com", "@example.com", "a@", "a", "", "   ",
            String(repeating: "a", count: 65) + "@example.com", "a@" + String(repeating: "d", count: 64) + ".com",
            "a@b@example.com", "a@exa mple.com", "a\\b@example.com", "a;b@example.com", "a:b@example.com",
        ]
    )
    func notAMailbox(raw: String) {
        #expect(throws: AuthError.self) {
            _ = try EmailAddress(raw)
        }
    }

    @Test("look-alikes stay different addresses: Cyrillic а, dotless ı, Greek ο are never folded to ASCII")
    func lookAlikes() throws {
        let ascii = try EmailAddress("ada@example.com")
        #expect(try EmailAddress("\u{430}da@example.com") != ascii)
        #expect(try EmailAddress("\u{430}da@example.com").value == "\u{430}da@example.com")
        #expect(try EmailAddress("al\u{131}ce@example.com") != EmailAddress("alice@example.com"))
        #expect(try EmailAddress("b\u{3BF}b@example.com") != EmailAddress("bob@example.com"))
        // A Cyrillic domain has its own A-label.
        #expect(try EmailAddress("ada@\u{435}xample.com").domain != ascii.domain)
    }

    @Test("a non-ASCII local part stays Unicode; lengths count UTF-8 octets")
    func octets() throws {
        let local = String(repeating: "\u{E9}", count: 32)  // 64 octets
        #expect(try EmailAddress(local + "@example.com").localPart == local)
        #expect(throws: AuthError.self) { _ = try EmailAddress(local + "e@example.com") }
    }
}

@Suite("Stored addresses take canonical forms; nothing is merged or lost")
struct EmailCanonicalisationTests {
    @Test("unique valid addresses are rewritten; collisions and invalid ones are kept and listed")
    func plan() {
        let plan = EmailCanonicalisation.plan([
            (1, "l\u{E9}a@example.com"), (2, "le\u{301}a@example.com"),  // one mailbox, twice
            (3, "anna@b\u{FC}cher.example"),  // unique: becomes its A-label
            (4, "bob@example.org"),  // already canonical: untouched
            (5, "\"quoted\"@example.org"),  // invalid today
            (6, "anna@xn--bcher-kva.example2"),
        ])
        #expect(plan.updates.map(\.userID) == [3])
        #expect(plan.updates.map(\.email) == ["anna@xn--bcher-kva.example"])
        #expect(
            plan.conflicts == [
                EmailConflict(userID: 1, email: "l\u{E9}a@example.com", canonical: "l\u{E9}a@example.com"),
                EmailConflict(userID: 2, email: "le\u{301}a@example.com", canonical: "l\u{E9}a@example.com"),
                EmailConflict(userID: 5, email: "\"quoted\"@example.org", canonical: nil),
            ])
    }

    @Test("conflicting accounts log in and reset with their old spelling; their canonical form is taken")
    func conflictsKeepWorking() async throws {
        let fixture = try await Fixture()
        let hash = try await fixture.hasher.hash("b4l0u")
        let nfc = try await fixture.store.addUser(email: "l\u{E9}a@example.com", passwordHash: hash, createdAt: Date())
        let nfd = try await fixture.store.addUser(
            email: "le\u{301}a@example.com", passwordHash: try await fixture.hasher.hash("other-pw"), createdAt: Date())
        let quoted = try await fixture.store.addUser(email: "\"q\"@example.org", passwordHash: hash, createdAt: Date())
        try await fixture.store.canonicaliseEmails()
        #expect(try await fixture.auth.validLogin(email: "L\u{C9}A@example.com", password: "b4l0u").id == nfc.id)
        #expect(try await fixture.auth.validLogin(email: "le\u{301}a@example.com", password: "other-pw").id == nfd.id)
        #expect(try await fixture.auth.validLogin(email: " \"Q\"@example.org", password: "b4l0u").id == quoted.id)
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: "l\u{E9}a@example.com", password: "other-pw")
        }
        await #expect(throws: AuthError.emailAlreadyRegistered) {
            _ = try await fixture.auth.registerUser(email: "le\u{301}a@example.com", password: "new-one")
        }
        let issued = try await fixture.auth.resetPasswordToken(for: "le\u{301}a@example.com")
        #expect(issued.email == "le\u{301}a@example.com")
        // An invalid address that is no stored account is still refused as invalid.
        await #expect(throws: AuthError.self) {
            _ = try await fixture.auth.validLogin(email: "\"r\"@example.org", password: "b4l0u")
        }
    }

    @Test("an operator resolves a group by renaming or deleting; the canonical form then names one account")
    func resolve() async throws {
        let fixture = try await Fixture()
        let hash = try await fixture.hasher.hash("b4l0u")
        let nfc = try await fixture.store.addUser(email: "l\u{E9}a@example.com", passwordHash: hash, createdAt: Date())
        let nfd = try await fixture.store.addUser(
            email: "le\u{301}a@example.com", passwordHash: hash, createdAt: Date())
        try await fixture.store.canonicaliseEmails()
        #expect(try await fixture.auth.emailConflicts().map(\.userID) == [nfc.id, nfd.id])
        await #expect(throws: AuthError.emailAlreadyRegistered) {
            _ = try await fixture.auth.renameUser(id: nfd.id, to: "l\u{E9}a@example.com")
        }
        #expect(try await fixture.auth.renameUser(id: nfd.id, to: "Lea2@Example.com") == "lea2@example.com")
        #expect(try await fixture.auth.deleteUser(id: nfc.id))
        #expect(try await fixture.auth.emailConflicts().isEmpty)
        #expect(try await fixture.auth.validLogin(email: "lea2@example.com", password: "b4l0u").id == nfd.id)
        _ = try await fixture.auth.registerUser(email: "l\u{E9}a@example.com", password: "b4l0u")
    }
}

@Suite("Passwords: every character counts, in any script")
struct PasswordNormalisationTests {
    @Test(
        "a password set in one Unicode form logs in typed in another",
        arguments: [
            ("Caf\u{E9}-Horse-Blue-77", "Cafe\u{301}-Horse-Blue-77"),
            ("\u{FF21}\u{FF22}\u{FF23}-horse-9", "ABC-horse-9"),  // fullwidth, as CJK input methods type
            ("\u{212B}ngstr\u{F6}m-77", "\u{C5}ngstro\u{308}m-77"),  // the Angstrom sign
        ]
    )
    func normalised(set: String, typed: String) async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: set)
        _ = try await fixture.auth.validLogin(email: "ada@example.com", password: typed)
    }

    @Test("the minimum length counts characters after NFKC")
    func minimumAfterNFKC() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(passwordMinLength: 10))
        // 5 decomposed characters are 10 scalars before NFKC and 5 after.
        await #expect(throws: AuthError.invalidPassword("password must be at least 10 characters")) {
            _ = try await fixture.auth.registerUser(
                email: "a@example.com", password: "e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}")
        }
        // A ligature is one character before NFKC and two after.
        _ = try await fixture.auth.registerUser(
            email: "a@example.com", password: String(repeating: "\u{FB01}", count: 5))
    }
}
