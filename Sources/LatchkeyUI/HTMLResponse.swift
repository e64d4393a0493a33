import HTTPTypes
import Hummingbird
import NIOCore

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let referrerPolicy = Self("Referrer-Policy")!
}

/// How every page answers: HTML with the pages' headers, or a 303 after a form (post, redirect,
/// get).
enum HTMLResponse {
    /// No script, no inline style, forms only to this service, never in a frame.
    static let contentSecurityPolicy = policy(formActions: [])

    /// The pages' policy, with `sources` besides `'self'` in `form-action`: Chromium applies
    /// `form-action` to the redirect that answers a form, so a page whose form may send the browser
    /// back to an application (`rd`) lists the allowed origins.
    static func policy(formActions sources: [String]) -> String {
        "default-src 'self'; form-action " + (["'self'"] + sources).joined(separator: " ") + "; frame-ancestors 'none'"
    }

    /// A page.
    /// - Parameters:
    ///   - status: The status.
    ///   - html: The page.
    ///   - headers: More headers (`Set-Cookie`, `Retry-After`).
    ///   - policy: The `Content-Security-Policy`.
    /// - Returns: The response, `text/html; charset=utf-8`, with `Content-Security-Policy` and
    ///   `Referrer-Policy: no-referrer` (`Cache-Control: no-store` comes with every response).
    static func page(
        _ status: HTTPResponse.Status, _ html: String, headers: HTTPFields = [:],
        policy: String = contentSecurityPolicy
    ) -> Response {
        var fields: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: policy,
            .referrerPolicy: "no-referrer",
        ]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// A 303 to `location`: a path of this service, or a `ReturnAddress`'s URL.
    /// - Parameters:
    ///   - location: The path to go to.
    ///   - headers: More headers (`Set-Cookie`).
    /// - Returns: The response.
    static func redirect(to location: String, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.location: location, .referrerPolicy: "no-referrer"]
        fields.append(contentsOf: headers)
        return Response(status: .seeOther, headers: fields)
    }
}
