import Mustache
import Testing

@testable import LatchkeyUI

@Suite("Pages: rendering")
struct RenderingTests {
    /// Text with each of the five characters, alone, together, beside multi-byte UTF-8 and
    /// combining marks, and text with none.
    static let texts = [
        "", "ada@example.com", "<", ">", "&", "\"", "'", "<b>\"O'Reilly\" & co</b>", "&amp;", "a<\u{0301}",
        "élève@exämple.com", "👩🏽‍💻<script>alert('x')</script>", "\u{0}<\u{7F}", "Phone/2.0 (ünïcode) & \"more\"",
        String(repeating: "é<", count: 300),
    ]

    @Test("the pages' escaping replaces each of the five characters, as swift-mustache's HTML escaping does")
    func escapingMatchesTheLibrary() throws {
        let reference = try MustacheTemplate(string: "{{v}}")
        for text in Self.texts where !text.unicodeScalars.contains(where: { $0.properties.isGraphemeExtend }) {
            #expect(HTMLEscaping().escapeText(text) == reference.render(["v": text]), "\(text)")
        }
        #expect(
            HTMLEscaping().escapeText(#"<a href="x">'&'</a>"#)
                == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    }

    @Test("a quote followed by a combining mark is escaped too: it cannot end an attribute's value")
    func combiningMarks() throws {
        // swift-mustache's HTML escaping looks characters up by grapheme cluster, and `"` with a
        // combining mark after it is one cluster it does not know: it would be left as it is, and
        // the browser, which reads code points, would end the attribute there.
        let breakOut = "x\"\u{0301} autofocus onfocus=alert(1) x=\"\u{0301}"
        #expect(try MustacheTemplate(string: "{{v}}").render(["v": breakOut]).unicodeScalars.contains("\""))
        for text in Self.texts + [breakOut, "'\u{0301}", "&\u{20DD}", ">\u{0308}"] {
            let expected = text.unicodeScalars.map { scalar in
                switch scalar {
                case "<": "&lt;"
                case ">": "&gt;"
                case "&": "&amp;"
                case "\"": "&quot;"
                case "'": "&#39;"
                default: String(scalar)
                }
            }.joined()
            #expect(HTMLEscaping().escapeText(text) == expected, "\(text)")
        }
        let renderer = try PageRenderer(files: PageFiles(theme: PageTheme()))
        let html = renderer.render("login", ["email": breakOut, "csrf": "token"], in: renderer.fallback)
        #expect(html.contains(#"value="x&quot;\#u{0301} autofocus onfocus=alert(1) x=&quot;\#u{0301}""#))
    }

    @Test("every page escapes what it shows, through the content type the renderer declares for it")
    func pagesEscape() throws {
        let renderer = try PageRenderer(files: PageFiles(theme: PageTheme()))
        let hostile = "<b>\"O'Reilly\" & co</b>"
        let escaped = "&lt;b&gt;&quot;O&#39;Reilly&quot; &amp; co&lt;/b&gt;"
        let html = renderer.render(
            "account",
            [
                "email": hostile, "csrf": "token", "notice": hostile,
                "sessions": [["id": "a", "current": true, "device": hostile, "address": hostile, "lastUsed": "now"]],
                "activity": [["what": hostile, "when": "now", "address": hostile]],
            ], in: renderer.fallback)
        #expect(html.hasPrefix("<!doctype html>\n"))
        #expect(!html.contains(hostile))
        #expect(html.components(separatedBy: escaped).count - 1 == 6)
        for page in ["login", "register", "forgot", "reset", "verify", "message"] {
            let shown = renderer.render(
                page, ["email": hostile, "problem": hostile, "csrf": "token"], in: renderer.fallback)
            #expect(!shown.contains(hostile) && shown.contains(escaped), "\(page)")
        }
    }
}
