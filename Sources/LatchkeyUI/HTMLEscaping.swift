import Mustache

/// The pages' escaping of `{{value}}`: the five characters swift-mustache's HTML content type
/// replaces (`<`, `>`, `&`, `"`, `'`), the same replacements, read as UTF-8 bytes, and the string
/// itself, with no copy, when it holds none of them (an address, a token, a time). `PageRenderer`
/// registers it, and declares it with `{{% CONTENT_TYPE: LATCHKEY_HTML}}` before every page it
/// parses.
///
/// The first stage of rendering (`PageRenderer`) writes the catalog's sentences into the templates
/// with `LATCHKEY_CATALOG`, which also replaces `{` and `}` by `&#123;` and `&#125;`: a sentence
/// becomes text of the second stage's template, and must not become a tag there.
struct HTMLEscaping: MustacheContentType {
    /// The name templates declare.
    static let name = "LATCHKEY_HTML"
    /// The name of the first stage's escaping.
    static let catalogName = "LATCHKEY_CATALOG"

    /// Whether `{` and `}` are replaced too (`LATCHKEY_CATALOG`).
    var escapesBraces = false

    /// The text, escaped for HTML text and quoted attribute values.
    /// - Parameter text: Any text.
    /// - Returns: The text with `<`, `>`, `&`, `"` and `'` replaced by `&lt;`, `&gt;`, `&amp;`,
    ///   `&quot;` and `&#39;` (and `{`, `}` by `&#123;`, `&#125;` with `escapesBraces`).
    func escapeText(_ text: String) -> String {
        guard text.utf8.contains(where: { Self.isSpecial($0) || (escapesBraces && Self.isBrace($0)) }) else {
            return text
        }
        var escaped: [UInt8] = []
        escaped.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "<"): escaped += "&lt;".utf8
            case UInt8(ascii: ">"): escaped += "&gt;".utf8
            case UInt8(ascii: "&"): escaped += "&amp;".utf8
            case UInt8(ascii: "\""): escaped += "&quot;".utf8
            case UInt8(ascii: "'"): escaped += "&#39;".utf8
            case UInt8(ascii: "{") where escapesBraces: escaped += "&#123;".utf8
            case UInt8(ascii: "}") where escapesBraces: escaped += "&#125;".utf8
            default: escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }

    private static func isBrace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
    }

    /// Whether a byte is one of the five. No byte of a multi-byte UTF-8 sequence is below 0x80,
    /// so none is mistaken for one.
    private static func isSpecial(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "\""), UInt8(ascii: "'"): true
        default: false
        }
    }
}
