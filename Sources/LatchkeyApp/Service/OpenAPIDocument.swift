import Foundation
import Yams

/// The OpenAPI document shipped in the binary (`Sources/LatchkeyApp/Resources/openapi.yaml`).
enum OpenAPIDocument {
    /// The YAML text.
    static var yaml: String { String(decoding: PackageResources.openapi_yaml, as: UTF8.self) }

    /// The document as JSON, converted once at start-up.
    /// - Throws: When the shipped YAML cannot be read.
    static func json() throws -> [UInt8] {
        guard let object = try Yams.load(yaml: yaml) else {
            throw ConfigurationError("openapi.yaml is empty")
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Array(data)
    }
}
