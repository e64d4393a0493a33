import Foundation

/// An email as the bytes a sendmail program reads with `-t -i`: RFC 5322 headers, then a
/// `multipart/alternative` body (RFC 2046 section 5.1.4) of a plain-text and an HTML part, both
/// UTF-8 in quoted-printable (RFC 2045 section 6.7), so that every line stays under 78
/// characters and no line of a template can end the message or start a header.
///
/// No header can be made from a CR or a LF: every header value goes through `headerValue(_:)`,
/// which turns any control character into a space before it is written, and encodes non-ASCII
/// text as RFC 2047 encoded words (UTF-8, base64). The recipient's address is the canonical one
/// Core stores (A-label domain); a non-ASCII local part is written as it is (RFC 6532).
struct MailMessage: Sendable {
    /// `EMAIL_FROM`: the display name (may be empty) and the address.
    var from: (name: String, address: String)
    /// The recipient's canonical address.
    var to: String
    /// The subject, one line, not yet encoded.
    var subject: String
    /// The plain-text part.
    var text: String
    /// The HTML part.
    var html: String
    /// The `Message-ID` without its angle brackets: the same on every attempt of one message.
    var messageID: String
    /// When the message is handed to the mailer.
    var date: Date

    /// The message's bytes, lines ending in CRLF.
    /// - Parameter boundary: The multipart boundary (random in use; fixed in tests). It must not
    ///   occur in a quoted-printable part, which it cannot when it holds `=_` (quoted-printable
    ///   writes `=` only as `=3D` or before a line break).
    /// - Returns: The message.
    func rendered(boundary: String = "=_latchkey_" + UUID().uuidString) -> String {
        let fromHeader =
            from.name.isEmpty
            ? Self.headerValue(from.address) : "\(Self.displayName(from.name)) <\(Self.headerValue(from.address))>"
        let headers = [
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(Self.headerValue(messageID))>",
            "From: \(fromHeader)",
            "To: \(Self.headerValue(to))",
            "Subject: \(Self.encodedWords(Self.headerValue(subject)))",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
        ]
        var lines = headers + [""]
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            lines += [
                "--\(boundary)",
                "Content-Type: \(type); charset=utf-8",
                "Content-Transfer-Encoding: quoted-printable",
                "",
                Self.quotedPrintable(body),
            ]
        }
        lines.append("--\(boundary)--")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A header value with every control character (CR and LF among them) turned into a space,
    /// so that nothing can end the header or start another.
    static func headerValue(_ value: String) -> String {
        String(
            String.UnicodeScalarView(
                value.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// A display name: as a quoted string when it is ASCII (RFC 5322 section 3.2.4), as encoded
    /// words otherwise.
    static func displayName(_ name: String) -> String {
        let clean = headerValue(name)
        guard clean.unicodeScalars.allSatisfy(\.isASCII) else { return encodedWords(clean) }
        let escaped = clean.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }

    /// Text as it is when ASCII, else as RFC 2047 encoded words (`=?UTF-8?B?...?=`), each of at
    /// most 39 bytes of UTF-8 (64 characters encoded, so that `Subject: ` and the first word stay
    /// within 76) and never splitting a code point, separated by folding white space.
    static func encodedWords(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy(\.isASCII) else { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39, !chunk.isEmpty {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// UTF-8 text in quoted-printable (RFC 2045 section 6.7): printable ASCII as it is but `=`,
    /// line breaks as CRLF, a space or tab before a line break encoded, and soft breaks (`=`) to
    /// keep every line at most 76 characters.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [String] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var encoded: [[UInt8]] = []
            for (index, byte) in bytes.enumerated() {
                let last = index == bytes.count - 1
                let plain =
                    (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !last)
                encoded.append(plain ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
            var current: [UInt8] = []
            for piece in encoded {
                if current.count + piece.count > 75 {
                    output.append(String(decoding: current + [UInt8(ascii: "=")], as: UTF8.self))
                    current = []
                }
                current += piece
            }
            output.append(String(decoding: current, as: UTF8.self))
        }
        return output.joined(separator: "\r\n")
    }

    /// A date as RFC 5322 section 3.3 writes it, in UTC: `Tue, 08 Dec 2026 03:12:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let two = { (value: Int?) in String(format: "%02d", value ?? 0) }
        return "\(days[((parts.weekday ?? 1) - 1) % 7]), \(two(parts.day)) \(months[((parts.month ?? 1) - 1) % 12]) "
            + "\(parts.year ?? 1970) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
