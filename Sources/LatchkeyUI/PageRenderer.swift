import Foundation
import Mustache

/// The pages' templates, compiled into the binary (`.embedInCode`) and parsed once at start-up:
/// rendering never touches the disk. Every `{{value}}` is escaped for HTML (`HTMLEscaping`).
struct PageRenderer: Sendable {
    /// The templates, by name: `layout` and the pages that inherit from it.
    let library: MustacheLibrary

    /// The stylesheet, as served from `/ui/static/style.css`.
    let stylesheet: String

    /// Parses the embedded templates.
    /// - Throws: `MustacheTemplate`'s parse error for a template that does not parse (a build
    ///   that ships one fails its tests).
    init() throws {
        let sources: [String: [UInt8]] = [
            "layout": PackageResources.layout_mustache,
            "login": PackageResources.login_mustache,
            "register": PackageResources.register_mustache,
            "message": PackageResources.message_mustache,
            "account": PackageResources.account_mustache,
            "forgot": PackageResources.forgot_mustache,
            "reset": PackageResources.reset_mustache,
            "verify": PackageResources.verify_mustache,
            "login-code": PackageResources.login_code_mustache,
            "enrol": PackageResources.enrol_mustache,
            "recovery": PackageResources.recovery_mustache,
        ]
        // Registered before parsing: a template names its content type when it is parsed.
        MustacheContentTypes.register(HTMLEscaping(), named: HTMLEscaping.name)
        var templates: [String: MustacheTemplate] = [:]
        for (name, bytes) in sources {
            templates[name] = try MustacheTemplate(string: String(decoding: bytes, as: UTF8.self))
        }
        library = MustacheLibrary(templates: templates)
        stylesheet = String(decoding: PackageResources.style_css, as: UTF8.self)
    }

    /// Renders a page.
    /// - Parameters:
    ///   - name: The template's name.
    ///   - values: What it shows; every string is escaped for HTML.
    /// - Returns: The HTML.
    func render(_ name: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: name) ?? ""
    }
}
