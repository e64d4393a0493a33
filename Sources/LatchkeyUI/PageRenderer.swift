import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The pages' templates in every language, made once at start-up, so that a page costs the same
/// in every language and rendering never touches the disk.
///
/// Rendering has two stages, both swift-mustache:
/// 1. At start-up, per language: each page template is rendered with `[[` `]]` delimiters, from
///    the catalog's sentences (`[[login.title]]`) and the brand (`[[product]]`, `[[logo]]`,
///    `[[lang]]`), inheriting the layout (`[[<layout]]`). Its `{{...}}` tags are text at this
///    stage. Sentences are escaped for HTML, and their braces too (`HTMLEscaping`).
/// 2. Per request: the result, a flat template, is rendered with the request's values, every
///    `{{value}}` escaped for HTML (`LATCHKEY_HTML`, declared by the renderer for every page, so
///    that an operator's template cannot fall back to the library's own escaping).
struct PageRenderer: Sendable {
    /// One language's pages: its catalog and its templates after the first stage.
    struct Edition: Sendable {
        let catalog: Catalog
        let library: MustacheLibrary
    }

    /// The editions, by language tag.
    let editions: [String: Edition]
    /// The fallback's (English) edition.
    let fallback: Edition
    /// The languages, the fallback (English) first.
    let languages: [String]
    /// What `/ui/static/` serves, by file name.
    let staticFiles: [String: StaticFile]

    /// The languages that ship, English (the fallback, and the reference for every catalog) first.
    static let shippedLanguages = ["en", "fr"]

    /// The shipped English catalog, the reference every catalog has the keys of.
    static let shippedEnglish: Catalog = {
        // The shipped file is checked by the tests: a build whose English catalog is not an object
        // of sentences fails them.
        (try? Catalog(language: "en", json: PageFiles.shipped["en.json"] ?? [], file: "en.json"))
            ?? Catalog(language: "en", strings: [:])
    }()

    /// The page templates (the layout besides), by name.
    static let pageNames = [
        "login", "register", "message", "account", "forgot", "reset", "verify", "login-code", "enrol", "recovery",
        "logout", "step-up",
    ]

    /// Makes every edition.
    /// - Parameter files: The pages' files, after the operator's overrides (`PageFiles`).
    /// - Throws: `PageSetupError` naming the file: a template that does not parse, before or after
    ///   the first stage, or one that names a key no catalog has; a catalog whose keys or
    ///   placeholders are not English's.
    init(files: PageFiles) throws(PageSetupError) {
        // Registered before parsing: a template names its content type when it is parsed.
        MustacheContentTypes.register(HTMLEscaping(), named: HTMLEscaping.name)
        MustacheContentTypes.register(HTMLEscaping(escapesBraces: true), named: HTMLEscaping.catalogName)
        var stageOne: [String: MustacheTemplate] = [:]
        var keysUsed: [String: Set<String>] = [:]
        for name in ["layout"] + Self.pageNames {
            let file = "\(name).mustache"
            let source = files.templates[name] ?? ""
            do {
                stageOne[name] = try MustacheTemplate(string: Self.stageOnePrefix + source)
            } catch {
                throw PageSetupError("\(file): not a template (\(error))")
            }
            keysUsed[file] = Self.catalogKeys(in: source)
        }
        let stageOneLibrary = MustacheLibrary(templates: stageOne)
        var editions: [String: Edition] = [:]
        for language in Self.shippedLanguages {
            guard let catalog = files.catalogs[language] else { throw PageSetupError("\(language).json: missing") }
            for (file, keys) in keysUsed.sorted(by: { $0.key < $1.key }) {
                if let key = keys.subtracting(Self.brandKeys).sorted().first(where: { catalog.strings[$0] == nil }) {
                    throw PageSetupError("\(file): [[\(key)]] is not a key of \(language).json")
                }
            }
            let context = catalog.stageOneContext(brand: [
                "lang": language, "product": files.product, "logo": files.logoURL,
            ])
            var stageTwo: [String: MustacheTemplate] = [:]
            for name in Self.pageNames {
                // Every page escapes its values with `LATCHKEY_HTML`, an operator's template too.
                let flat = Self.stageTwoPrefix + (stageOneLibrary.render(context, withTemplate: name) ?? "")
                do {
                    stageTwo[name] = try MustacheTemplate(string: flat)
                } catch {
                    throw PageSetupError("\(name).mustache: not a template in \(language) (\(error))")
                }
            }
            editions[language] = Edition(catalog: catalog, library: MustacheLibrary(templates: stageTwo))
        }
        guard let english = editions[Self.shippedLanguages[0]] else { throw PageSetupError("en.json: missing") }
        self.editions = editions
        fallback = english
        languages = Self.shippedLanguages
        staticFiles = files.staticFiles
    }

    /// What the first stage reads before each template: its escaping, then its delimiters.
    private static let stageOnePrefix = "{{% CONTENT_TYPE: \(HTMLEscaping.catalogName)}}\n{{=[[ ]]=}}\n"

    /// What the second stage reads before each page: its escaping (`HTMLEscaping`).
    private static let stageTwoPrefix = "{{% CONTENT_TYPE: \(HTMLEscaping.name)}}\n"

    /// The values the brand gives the first stage, beside the catalog's keys.
    static let brandKeys: Set<String> = ["lang", "product", "logo"]

    /// The catalog keys a template's first stage reads: every `[[name]]` that is a value (not a
    /// section, block, partial or comment).
    static func catalogKeys(in source: String) -> Set<String> {
        var keys: Set<String> = []
        var rest = source[...]
        while let open = rest.range(of: "[[") {
            guard let close = rest[open.upperBound...].range(of: "]]") else { break }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if let first = name.first, first.isLetter { keys.insert(name) }
            rest = rest[close.upperBound...]
        }
        return keys
    }

    /// The edition for a request: the language its `Accept-Language` asks for (`LanguageChoice`).
    func edition(for request: Request) -> Edition {
        let language = LanguageChoice.choose(request.headers[.acceptLanguage], available: languages)
        return editions[language] ?? fallback
    }

    /// Renders a page.
    /// - Parameters:
    ///   - name: The template's name.
    ///   - values: What it shows; every string is escaped for HTML.
    ///   - edition: The language's edition.
    /// - Returns: The HTML.
    func render(_ name: String, _ values: [String: Any], in edition: Edition) -> String {
        edition.library.render(values, withTemplate: name) ?? ""
    }
}

/// A file `/ui/static/` serves: its type, its bytes and its own headers.
struct StaticFile: Sendable {
    let contentType: String
    let bytes: ByteBuffer
    var headers: HTTPFields = [:]

    /// The response.
    var response: Response {
        var fields: HTTPFields = [.contentType: contentType]
        fields.append(contentsOf: headers)
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: bytes))
    }
}
