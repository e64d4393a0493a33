import Foundation

/// An email address in its one canonical form: the only way to name an account.
///
/// Built only by `init(_:)`, which refuses what cannot be a mailbox and canonicalises the rest, so
/// that every spelling of one mailbox gives one value:
/// 1. Leading and trailing white space is trimmed. Then, before any normalisation, an address
///    holding a control or format character (general categories Cc, Cf: soft hyphen, zero-width
///    characters, byte-order mark, word joiners) or any other default-ignorable code point is
///    refused: NFKC keeps some of these, and case folding and IDNA silently drop others, which
///    would let an invisible character make a second account or hide one.
/// 2. NFKC is applied to the whole address, so that width is folded (a fullwidth `＠` is an `@`,
///    and an address with two is refused).
/// 3. The local part is `NFKC(fold(NFKC(x)))`, folding with full Unicode case folding and no
///    locale. It is a dot-atom (RFC 5322 `atext`, with non-ASCII characters as RFC 6531 allows):
///    no quoted strings or comments, no leading, trailing or doubled dots, at most 64 octets.
/// 4. The domain is its A-label, from UTS #46 non-transitional processing, then checked here
///    (Foundation converts but does not validate): at least two labels of 1 to 63 octets of
///    `a-z`, `0-9` and `-`, no hyphen at either end, `--` in positions 3 and 4 only in an `xn--`
///    label that decodes and re-encodes to itself, a last label not all digits, no trailing dot,
///    no address literal (RFC 5321 4.1.3 literals are refused: a host is not a mailbox provider).
/// 5. The whole canonical address is at most 254 octets (RFC 5321 4.5.3.1.3, less the brackets).
///
/// Look-alikes stay different: a Cyrillic `а` or a dotless `ı` is never folded to ASCII (mapping
/// look-alikes is how Django's CVE-2019-19844 let a reset reach another account).
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The canonical address, `local@a-label`: what is stored, compared and echoed.
    public let value: String

    /// The canonical local part (before the `@`).
    public var localPart: Substring { value[..<value.lastIndex(of: "@")!] }

    /// The domain as an A-label (after the `@`).
    public var domain: Substring { value[value.index(after: value.lastIndex(of: "@")!)...] }

    /// The canonical address.
    public var description: String { value }

    /// Byte equality of the canonical forms. Swift's `String` equality treats canonically
    /// equivalent strings (NFC and NFD) as equal; the stores compare bytes, and so must this.
    public static func == (lhs: EmailAddress, rhs: EmailAddress) -> Bool {
        lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }

    /// Hashes the canonical form's bytes, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        for byte in value.utf8 { hasher.combine(byte) }
    }

    /// The longest local part, in UTF-8 octets (RFC 5321 4.5.3.1.1).
    public static let maximumLocalPartOctets = 64
    /// The longest address, in UTF-8 octets (RFC 5321 4.5.3.1.3, less the angle brackets).
    public static let maximumOctets = 254

    /// Validates and canonicalises an address as a person typed it.
    /// - Parameter raw: The address as sent.
    /// - Throws: `AuthError.invalidEmail` with a reason a person can act on: empty; an invisible
    ///   or control character (named by its code point); white space inside; not exactly one
    ///   `@`; a local part that is not a dot-atom or is over 64 octets; a domain that is not a
    ///   valid host name; an address over 254 octets.
    public init(_ raw: String) throws(AuthError) {
        let trimmed = Self.trimmingWhiteSpace(raw)
        if trimmed.isEmpty {
            throw .invalidEmail("email must not be empty")
        }
        if let invisible = trimmed.unicodeScalars.first(where: Self.isInvisible) {
            throw .invalidEmail("email must not contain invisible or control characters (\(Self.name(invisible)))")
        }
        if trimmed.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
            throw .invalidEmail("email must not contain white space")
        }
        let compatible = trimmed.precomposedStringWithCompatibilityMapping
        let parts = compatible.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw .invalidEmail("email must contain exactly one @")
        }
        let local = try Self.canonicalLocalPart(String(parts[0]))
        let domain = try Self.canonicalDomain(String(parts[1]))
        let value = local + "@" + domain
        if value.utf8.count > Self.maximumOctets {
            throw .invalidEmail("email must be at most \(Self.maximumOctets) bytes in UTF-8")
        }
        self.value = value
    }

    /// The text without Unicode White_Space at either end. Foundation's `.whitespacesAndNewlines`
    /// also holds U+200B (zero width space), which is not white space but an invisible
    /// character, and must be refused rather than trimmed away.
    static func trimmingWhiteSpace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else {
            return ""
        }
        return String(scalars[first...last])
    }

    /// Whether a code point is invisible or a control: Cc, Cf, or default-ignorable.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        return properties.generalCategory == .control || properties.generalCategory == .format
            || properties.isDefaultIgnorableCodePoint
    }

    /// `U+00AD`, for messages.
    static func name(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The characters RFC 5322 3.2.3 allows in an atom, besides letters and digits.
    private static let atextSymbols = Set("!#$%&'*+-/=?^_`{|}~".unicodeScalars)

    /// `NFKC(fold(NFKC(x)))`, checked as a dot-atom.
    private static func canonicalLocalPart(_ local: String) throws(AuthError) -> String {
        let canonical = local.precomposedStringWithCompatibilityMapping
            .folding(options: .caseInsensitive, locale: nil)
            .precomposedStringWithCompatibilityMapping
        if canonical.isEmpty {
            throw .invalidEmail("email must have a local part before the @")
        }
        if canonical.utf8.count > maximumLocalPartOctets {
            throw .invalidEmail("the part before the @ must be at most \(maximumLocalPartOctets) bytes in UTF-8")
        }
        if canonical.hasPrefix(".") || canonical.hasSuffix(".") || canonical.contains("..") {
            throw .invalidEmail("the part before the @ must not start or end with a dot or hold two in a row")
        }
        for scalar in canonical.unicodeScalars where scalar != "." {
            let allowed =
                !scalar.isASCII || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                || ("0"..."9").contains(scalar) || atextSymbols.contains(scalar)
            if !allowed || isInvisible(scalar) {
                throw .invalidEmail(
                    "the part before the @ must not contain \(Character(scalar)) (quoted strings and comments are not accepted)"
                )
            }
        }
        return canonical
    }

    /// The domain's A-label, checked as a host name.
    private static func canonicalDomain(_ domain: String) throws(AuthError) -> String {
        if domain.isEmpty {
            throw .invalidEmail("email must have a domain after the @")
        }
        if domain.hasPrefix("[") {
            throw .invalidEmail("the domain must be a name, not an address literal")
        }
        if domain.hasSuffix(".") {
            throw .invalidEmail("the domain must not end with a dot")
        }
        guard let aLabel = aLabel(of: domain) else {
            throw .invalidEmail("the domain is not a valid internationalised domain name")
        }
        let labels = aLabel.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count < 2 {
            throw .invalidEmail("the domain must have at least two labels, as in example.com")
        }
        for label in labels {
            try checkLabel(label)
        }
        if labels.last!.allSatisfy(\.isASCII) && labels.last!.allSatisfy(\.isNumber) {
            throw .invalidEmail("the domain's last label must not be all digits")
        }
        return aLabel
    }

    /// UTS #46 non-transitional processing to ASCII (Foundation's `URLComponents`), lower-cased.
    /// - Returns: `nil` when the name cannot be converted.
    static func aLabel(of domain: String) -> String? {
        if domain.unicodeScalars.allSatisfy(\.isASCII) {
            return domain.lowercased()
        }
        var components = URLComponents()
        components.host = domain
        guard let encoded = components.encodedHost, encoded.unicodeScalars.allSatisfy(\.isASCII),
            !encoded.contains("%")
        else {
            return nil
        }
        return encoded.lowercased()
    }

    /// The U-label form of an A-label domain, for pages that show it to people.
    /// - Parameter aLabel: A domain as `EmailAddress` stores it.
    /// - Returns: The Unicode form, or `nil` when a label does not decode.
    static func uLabel(of aLabel: String) -> String? {
        URLComponents(string: "http://\(aLabel)/")?.host
    }

    /// One label of an A-label domain: RFC 1035's letter-digit-hyphen rule with RFC 5891's
    /// reserved hyphens (positions 3 and 4) only in a valid `xn--` label.
    private static func checkLabel(_ label: Substring) throws(AuthError) {
        if label.isEmpty || label.utf8.count > 63 {
            throw .invalidEmail("each part of the domain must be 1 to 63 characters")
        }
        let allowed = label.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
        }
        if !allowed {
            throw .invalidEmail("the domain may hold only letters, digits, hyphens and dots")
        }
        if label.hasPrefix("-") || label.hasSuffix("-") {
            throw .invalidEmail("a part of the domain must not start or end with a hyphen")
        }
        let characters = Array(label)
        if characters.count >= 4 && characters[2] == "-" && characters[3] == "-" {
            guard label.hasPrefix("xn--"), let decoded = uLabel(of: String(label)), decoded != String(label),
                aLabel(of: decoded) == String(label)
            else {
                throw .invalidEmail("the domain holds a label with -- that is not a valid internationalised label")
            }
        }
    }
}
