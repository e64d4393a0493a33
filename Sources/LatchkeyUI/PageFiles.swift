import Foundation
import HTTPTypes
import Hummingbird

/// The operator's brand for the pages: the product's name, a logo, and a folder of files that
/// replace the shipped ones one at a time.
public struct PageTheme: Sendable {
    /// The product's name on every page (`UI_TITLE`): 1 to 100 characters, no control character.
    public var product: String
    /// An SVG or PNG file that replaces the default mark (`UI_LOGO_PATH`), at most 1 MiB.
    public var logoPath: String?
    /// A folder whose files replace the shipped ones of the same name (`UI_TEMPLATES_DIR`):
    /// templates (`login.mustache`...), `style.css`, `brand.css`, `logo.svg` or `logo.png`, and
    /// catalogs (`en.json`, `fr.json`), which replace the sentences they name.
    public var templatesDirectory: String?

    /// A theme.
    /// - Parameters:
    ///   - product: The product's name.
    ///   - logoPath: The logo's file.
    ///   - templatesDirectory: The folder of overrides.
    public init(product: String = "Latchkey", logoPath: String? = nil, templatesDirectory: String? = nil) {
        self.product = product
        self.logoPath = logoPath
        self.templatesDirectory = templatesDirectory
    }
}

/// The pages' files: the shipped ones (compiled in), with the theme's in their place.
struct PageFiles: Sendable {
    /// The templates' sources, by name (`login`, without `.mustache`).
    var templates: [String: String]
    /// The catalogs, by language.
    var catalogs: [String: Catalog]
    /// What `/ui/static/` serves, by file name.
    var staticFiles: [String: StaticFile]
    /// The product's name.
    var product: String
    /// The mark's URL: `/ui/static/logo.svg` or `/ui/static/logo.png`.
    var logoURL: String

    /// The largest logo read, in bytes.
    static let maximumLogoBytes = 1 << 20

    /// The shipped files, by name.
    static let shipped: [String: [UInt8]] = [
        "layout.mustache": PackageResources.layout_mustache,
        "login.mustache": PackageResources.login_mustache,
        "register.mustache": PackageResources.register_mustache,
        "message.mustache": PackageResources.message_mustache,
        "account.mustache": PackageResources.account_mustache,
        "forgot.mustache": PackageResources.forgot_mustache,
        "reset.mustache": PackageResources.reset_mustache,
        "verify.mustache": PackageResources.verify_mustache,
        "login-code.mustache": PackageResources.login_code_mustache,
        "enrol.mustache": PackageResources.enrol_mustache,
        "recovery.mustache": PackageResources.recovery_mustache,
        "logout.mustache": PackageResources.logout_mustache,
        "step-up.mustache": PackageResources.step_up_mustache,
        "mail-subject.mustache": PackageResources.mail_subject_mustache,
        "mail-text.mustache": PackageResources.mail_text_mustache,
        "mail-html.mustache": PackageResources.mail_html_mustache,
        "style.css": PackageResources.style_css,
        "brand.css": PackageResources.brand_css,
        "logo.svg": PackageResources.logo_svg,
        "en.json": PackageResources.en_json,
        "fr.json": PackageResources.fr_json,
    ]

    /// The names an override may have: the shipped files, and `logo.png` for a PNG mark.
    static let overridable = Set(shipped.keys).union(["logo.png"])

    /// An SVG's own policy: no script, no request, its inline style only; `sandbox` in case it is
    /// opened as a document.
    static let svgPolicy = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

    /// Reads the files.
    /// - Parameter theme: The operator's brand.
    /// - Throws: `PageSetupError` naming the file or setting: a file in the folder that has no
    ///   shipped name; a folder or logo that cannot be read; a logo that is not an SVG or PNG
    ///   file of at most 1 MiB; both `logo.svg` and `logo.png` in the folder; a catalog override
    ///   that is not a JSON object of sentences, or names a key the catalog does not have, or
    ///   changes a sentence's placeholders; a product name that is empty, over 100 characters or
    ///   holds a control character.
    init(theme: PageTheme) throws(PageSetupError) {
        let product = theme.product
        guard !product.isEmpty, product.count <= 100,
            !product.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw PageSetupError("UI_TITLE: must be 1 to 100 characters, without control characters") }
        self.product = product
        let overrides =
            try theme.templatesDirectory.map { folder throws(PageSetupError) in
                try Self.overrides(in: folder)
            } ?? [:]
        if overrides["logo.svg"] != nil && overrides["logo.png"] != nil {
            throw PageSetupError("UI_TEMPLATES_DIR: holds both logo.svg and logo.png; keep one")
        }
        let files = Self.shipped.merging(overrides) { _, override in override }
        var logo = (name: "logo.svg", bytes: files["logo.svg"] ?? [])
        if let png = files["logo.png"] { logo = ("logo.png", png) }
        if let path = theme.logoPath { logo = try Self.logo(at: path) }
        try Self.checkLogo(logo.bytes, name: logo.name, setting: theme.logoPath == nil ? logo.name : "UI_LOGO_PATH")
        logoURL = "/ui/static/\(logo.name)"
        templates = [:]
        for (name, bytes) in files where name.hasSuffix(".mustache") {
            templates[String(name.dropLast(".mustache".count))] = String(decoding: bytes, as: UTF8.self)
        }
        let english = PageRenderer.shippedEnglish
        catalogs = [:]
        for language in PageRenderer.shippedLanguages {
            let file = "\(language).json"
            var catalog = try Catalog(language: language, json: Self.shipped[file] ?? [], file: file)
            if let override = overrides[file] {
                let replacement = try Catalog(language: language, json: override, file: "UI_TEMPLATES_DIR/\(file)")
                if let problem = replacement.problems(against: english, file: "UI_TEMPLATES_DIR/\(file)", partial: true)
                    .first
                {
                    throw PageSetupError(problem)
                }
                catalog = catalog.merging(replacement)
            }
            catalogs[language] = catalog
        }
        staticFiles = [
            "style.css": StaticFile(
                contentType: "text/css; charset=utf-8", bytes: ByteBuffer(bytes: files["style.css"] ?? [])),
            "brand.css": StaticFile(
                contentType: "text/css; charset=utf-8", bytes: ByteBuffer(bytes: files["brand.css"] ?? [])),
            logo.name: logo.name == "logo.svg"
                ? StaticFile(
                    contentType: "image/svg+xml", bytes: ByteBuffer(bytes: logo.bytes),
                    headers: [.contentSecurityPolicy: Self.svgPolicy])
                : StaticFile(contentType: "image/png", bytes: ByteBuffer(bytes: logo.bytes)),
        ]
    }

    /// The files of the override folder, by name.
    private static func overrides(in folder: String) throws(PageSetupError) -> [String: [UInt8]] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else {
            throw PageSetupError("UI_TEMPLATES_DIR: \(folder) is not a folder that can be read")
        }
        var files: [String: [UInt8]] = [:]
        for name in names.sorted() {
            guard overridable.contains(name) else {
                throw PageSetupError(
                    "UI_TEMPLATES_DIR: \(name) is not a file the pages have (they have \(overridable.sorted().joined(separator: ", ")))"
                )
            }
            let path = (folder as NSString).appendingPathComponent(name)
            guard let data = manager.contents(atPath: path) else {
                throw PageSetupError("UI_TEMPLATES_DIR: \(name) cannot be read")
            }
            files[name] = [UInt8](data)
        }
        return files
    }

    /// The logo of `UI_LOGO_PATH`, named for what `/ui/static/` serves it as.
    private static func logo(at path: String) throws(PageSetupError) -> (name: String, bytes: [UInt8]) {
        let lowered = path.lowercased()
        let name: String
        if lowered.hasSuffix(".svg") {
            name = "logo.svg"
        } else if lowered.hasSuffix(".png") {
            name = "logo.png"
        } else {
            throw PageSetupError("UI_LOGO_PATH: \(path) must be an .svg or .png file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PageSetupError("UI_LOGO_PATH: \(path) cannot be read")
        }
        return (name, [UInt8](data))
    }

    /// Checks that a logo is what its name says, and small.
    private static func checkLogo(_ bytes: [UInt8], name: String, setting: String) throws(PageSetupError) {
        guard bytes.count <= maximumLogoBytes else { throw PageSetupError("\(setting): must be at most 1 MiB") }
        if name == "logo.png" {
            guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
                throw PageSetupError("\(setting): is not a PNG file")
            }
        } else {
            guard String(decoding: bytes.prefix(4096), as: UTF8.self).contains("<svg") else {
                throw PageSetupError("\(setting): is not an SVG file")
            }
        }
    }
}
