import Foundation
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import Testing

/// A test application over the in-memory store and the fast hasher.
struct TestService {
    let store = InMemoryStore()
    let auth: Auth

    /// What the rules logged: kept, not printed, so that a test of a failure prints no error.
    let log = CapturedLog()

    init(policy: AuthPolicy = AuthPolicy()) async throws {
        auth = try await Auth(store: store, hasher: FastHasher(), policy: policy, logger: log.logger)
    }

    /// Runs a test against the real routes.
    func test(
        options: HTTPOptions = HTTPOptions(),
        live: Bool = false,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let app = Application(router: buildRouter(auth: auth, options: options), logger: log.logger)
        // `.live` runs a real server on a free port, so that requests have a peer address.
        try await app.test(live ? .live : .router) { client in try await body(client) }
    }
}

/// A percent-encoded form body, as browsers and `requests` send it.
func form(_ fields: KeyValuePairs<String, String>) -> (HTTPFields, ByteBuffer) {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    let text = fields.map { key, value in
        "\(key.addingPercentEncoding(withAllowedCharacters: allowed)!)=\(value.addingPercentEncoding(withAllowedCharacters: allowed)!)"
    }.joined(separator: "&")
    return ([.contentType: "application/x-www-form-urlencoded"], ByteBuffer(string: text))
}

/// A JSON object body.
func json(_ fields: [String: String]) -> (HTTPFields, ByteBuffer) {
    let data = try! JSONSerialization.data(withJSONObject: fields)
    return ([.contentType: "application/json"], ByteBuffer(bytes: data))
}

extension TestClientProtocol {
    /// Sends a body made by `form` or `json`, with optional extra headers.
    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        _ body: (HTTPFields, ByteBuffer)? = nil,
        cookie: String? = nil
    ) async throws -> TestResponse {
        var headers = body?.0 ?? [:]
        if let cookie { headers[.cookie] = "session_id=\(cookie)" }
        return try await execute(uri: uri, method: method, headers: headers, body: body?.1)
    }

    /// Registers and logs in, returning the session token.
    func logIn(_ email: String = "bob@example.com", _ password: String = "b4l0u", register: Bool = true) async throws
        -> String
    {
        if register {
            let created = try await send(.post, "/users", form(["email": email, "password": password]))
            #expect(created.status == .ok)
        }
        let response = try await send(.post, "/sessions", form(["email": email, "password": password]))
        #expect(response.status == .ok)
        return try #require(response.sessionCookie?.value)
    }
}

/// A parsed `Set-Cookie` header.
struct SetCookie {
    var value: String
    var attributes: [String: String]
}

extension TestResponse {
    /// The body parsed as a JSON object of strings, when the response says it is JSON.
    var json: [String: String]? {
        // Exactly `application/json`, as the original sends it: no charset parameter.
        guard headers[.contentType] == "application/json" else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) else { return nil }
        return object as? [String: String]
    }

    /// The `session_id` cookie set by the response.
    var sessionCookie: SetCookie? {
        for header in headers[values: .setCookie] {
            let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = parts.first, first.hasPrefix("session_id=") else { continue }
            var attributes: [String: String] = [:]
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                attributes[pair[0].lowercased()] = pair.count > 1 ? pair[1] : ""
            }
            return SetCookie(value: String(first.dropFirst("session_id=".count)), attributes: attributes)
        }
        return nil
    }

    /// Checks the API's error shape: a JSON content type and `{"message": ...}` only.
    func expectError(
        _ status: HTTPResponse.Status, _ message: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(self.status == status, sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        let body = json
        #expect(body?.keys.sorted() == ["message"], sourceLocation: sourceLocation)
        #expect(body?["message"]?.isEmpty == false, sourceLocation: sourceLocation)
        if let message {
            #expect(body?["message"] == message, sourceLocation: sourceLocation)
        }
    }
}
