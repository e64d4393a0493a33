import Foundation
import HTTPTypes
import LatchkeyCore
import Testing

@testable import LatchkeyUI

@Suite("Pages: the operator's brand")
struct BrandTests {
    /// A folder holding `files`, removed after `body`.
    static func folder(_ files: [String: String], _ body: (String) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("brand-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (name, text) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path).appendingPathComponent(name))
        }
        try await body(path)
    }

    /// Why the pages refuse `theme`, or `nil` when they take it.
    static func refusal(_ theme: PageTheme) -> String? {
        do {
            _ = try PageRenderer(files: PageFiles(theme: theme))
            return nil
        } catch {
            return error.description
        }
    }

    static let svg = #"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8"/></svg>"#

    @Test("UI_TITLE names the product on every page; the default mark is an SVG with its own policy")
    func title() async throws {
        try await withPages(theme: PageTheme(product: "Acme <Accounts>")) { browser, _ in
            for path in ["/ui/login", "/ui/register", "/ui/forgot", "/ui/nowhere"] {
                let page = try await browser.send(.get, path)
                #expect(page.text.contains(" · Acme &lt;Accounts&gt;</title>"), "\(path)")
                #expect(
                    page.text.contains(
                        #"<img class="mark" src="/ui/static/logo.svg" alt="" width="32" height="32"> Acme &lt;Accounts&gt;</p>"#
                    ))
            }
            let mark = try await browser.send(.get, "/ui/static/logo.svg")
            #expect(mark.status == .ok && mark.headers[.contentType] == "image/svg+xml")
            #expect(
                mark.headers[HTTPField.Name("Content-Security-Policy")!]
                    == "default-src 'none'; style-src 'unsafe-inline'; sandbox")
            #expect(String(buffer: mark.body) == String(decoding: PageFiles.shipped["logo.svg"] ?? [], as: UTF8.self))
            let brand = try await browser.send(.get, "/ui/static/brand.css")
            #expect(brand.status == .ok && brand.headers[.contentType] == "text/css; charset=utf-8")
            for missing in [
                "/ui/static/logo.png", "/ui/static/en.json", "/ui/static/login.mustache", "/ui/static/..%2Fen.json",
            ] {
                #expect(try await browser.send(.get, missing).status == .notFound, "\(missing)")
            }
        }
        for bad in ["", String(repeating: "x", count: 101), "Acme\u{7}"] {
            #expect(
                Self.refusal(PageTheme(product: bad))
                    == "UI_TITLE: must be 1 to 100 characters, without control characters")
        }
    }

    @Test("UI_LOGO_PATH: an SVG or a PNG replaces the mark; anything else is refused, named")
    func logo() async throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pngPath = directory.appendingPathComponent("Mark.PNG").path
        try Data(png).write(to: URL(fileURLWithPath: pngPath))
        try await withPages(theme: PageTheme(logoPath: pngPath)) { browser, _ in
            #expect(try await browser.send(.get, "/ui/login").text.contains(#"src="/ui/static/logo.png""#))
            let mark = try await browser.send(.get, "/ui/static/logo.png")
            #expect(mark.headers[.contentType] == "image/png" && Array(buffer: mark.body) == png)
            #expect(try await browser.send(.get, "/ui/static/logo.svg").status == .notFound)
        }
        let fake = directory.appendingPathComponent("fake.png").path
        try Data(Self.svg.utf8).write(to: URL(fileURLWithPath: fake))
        #expect(Self.refusal(PageTheme(logoPath: fake)) == "UI_LOGO_PATH: is not a PNG file")
        let text = directory.appendingPathComponent("logo.svg").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        #expect(Self.refusal(PageTheme(logoPath: text)) == "UI_LOGO_PATH: is not an SVG file")
        #expect(
            Self.refusal(PageTheme(logoPath: "/nowhere/logo.gif"))
                == "UI_LOGO_PATH: /nowhere/logo.gif must be an .svg or .png file")
        #expect(
            Self.refusal(PageTheme(logoPath: "/nowhere/logo.svg")) == "UI_LOGO_PATH: /nowhere/logo.svg cannot be read")
        let big = directory.appendingPathComponent("big.svg").path
        try Data(("<svg>" + String(repeating: " ", count: 1 << 20)).utf8).write(to: URL(fileURLWithPath: big))
        #expect(Self.refusal(PageTheme(logoPath: big)) == "UI_LOGO_PATH: must be at most 1 MiB")
    }

    @Test("UI_TEMPLATES_DIR replaces a template, the stylesheets, the mark or sentences, one file at a time")
    func overrides() async throws {
        let files = [
            "brand.css": ":root { --accent: #7a1f5c; }",
            "logo.svg": Self.svg,
            "forgot.mustache":
                "[[<layout]][[$title]][[forgot.title]][[/title]][[$content]]<p id=\"own\">{{email}}</p>[[/content]][[/layout]]",
            "fr.json": #"{"login.title": "Connexion à Acme {{csrf <b>"}"#,
        ]
        try await Self.folder(files) { path in
            try await withPages(theme: PageTheme(templatesDirectory: path)) { browser, _ in
                let css = try await browser.send(.get, "/ui/static/brand.css")
                #expect(String(buffer: css.body) == ":root { --accent: #7a1f5c; }")
                #expect(String(buffer: try await browser.send(.get, "/ui/static/logo.svg").body) == Self.svg)
                let forgot = try await browser.send(.get, "/ui/forgot?x=1")
                #expect(forgot.text.contains(#"<p id="own"></p>"#) && !forgot.text.contains("<form"))
                let french = try await browser.send(.get, "/ui/login", headers: [.acceptLanguage: "fr"])
                // The operator's sentence is text: escaped, its braces too, never a tag.
                #expect(french.text.contains("<h1>Connexion à Acme &#123;&#123;csrf &lt;b&gt;</h1>"))
                let shipped = try Catalog(language: "fr", json: PageFiles.shipped["fr.json"] ?? [], file: "fr.json")
                #expect(french.text.contains(LanguageTests.html(shipped.text("login.forgot"))))
                #expect(try await browser.send(.get, "/ui/login").text.contains("<h1>Log in</h1>"))
            }
        }
    }

    @Test("an operator's template without the layout still escapes every value by UTF-8 byte")
    func overrideEscapes() async throws {
        let files = ["forgot.mustache": "<p id=\"own\">{{email}}</p>"]
        try await Self.folder(files) { path in
            let renderer = try PageRenderer(files: PageFiles(theme: PageTheme(templatesDirectory: path)))
            let html = renderer.render("forgot", ["email": "x\"\u{0301}<b>"], in: renderer.fallback)
            #expect(html == "<p id=\"own\">x&quot;\u{0301}&lt;b&gt;</p>")
        }
    }

    @Test("start-up refuses an override it cannot use, naming the file")
    func refusedOverrides() async throws {
        let cases: [([String: String], String)] = [
            (["nope.txt": ""], "UI_TEMPLATES_DIR: nope.txt is not a file the pages have"),
            (["Login.mustache": ""], "UI_TEMPLATES_DIR: Login.mustache is not a file the pages have"),
            (["de.json": "{}"], "UI_TEMPLATES_DIR: de.json is not a file the pages have"),
            (
                ["fr.json": #"{"login.titel": "x"}"#],
                "UI_TEMPLATES_DIR/fr.json: login.titel is not a key of the pages' catalog"
            ),
            (
                ["en.json": #"{"problem.throttled": "Wait."}"#],
                "UI_TEMPLATES_DIR/en.json: problem.throttled must have the placeholders of English"
            ),
            (["en.json": "[1]"], "UI_TEMPLATES_DIR/en.json: not a JSON object of keys to sentences"),
            (["en.json": #"{"login.title": 1}"#], "UI_TEMPLATES_DIR/en.json: the value of login.title is not a string"),
            (
                ["login.mustache": "[[<layout]][[$content]][[login.titel]][[/content]][[/layout]]"],
                "login.mustache: [[login.titel]] is not a key of en.json"
            ),
            (["login.mustache": "{{#open}}"], "login.mustache: not a template"),
            (["logo.svg": Self.svg, "logo.png": "x"], "UI_TEMPLATES_DIR: holds both logo.svg and logo.png; keep one"),
            (["logo.png": "not a png"], "logo.png: is not a PNG file"),
        ]
        for (files, expected) in cases {
            try await Self.folder(files) { path in
                let refusal = Self.refusal(PageTheme(templatesDirectory: path)) ?? "accepted"
                #expect(refusal.hasPrefix(expected), "\(files.keys.sorted()): \(refusal)")
            }
        }
        #expect(
            Self.refusal(PageTheme(templatesDirectory: "/nowhere"))
                == "UI_TEMPLATES_DIR: /nowhere is not a folder that can be read")
    }
}
