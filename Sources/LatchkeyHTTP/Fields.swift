import Foundation
import Hummingbird
import NIOCore

/// The fields of a request body, from `application/x-www-form-urlencoded` (the contract)
/// or a JSON object with the same keys.
struct Fields: Sendable {
    /// The largest body accepted, in bytes.
    static let maximumBodySize = 64 * 1024

    let values: [String: String]

    /// Reads and parses a request body.
    /// - Throws: `APIError` with 413 for a body over 64 KiB, 415 for another content type,
    ///   400 for a body that does not parse.
    static func read(from request: Request) async throws -> Fields {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maximumBodySize {
            throw APIError(.contentTooLarge, "request body must be at most \(maximumBodySize) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBodySize)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body must be at most \(maximumBodySize) bytes")
        }
        let mediaType = request.headers[.contentType].map { header in
            header.split(separator: ";", maxSplits: 1).first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        }
        if buffer.readableBytes == 0 && (mediaType == nil || mediaType == "") {
            return Fields(values: [:])
        }
        switch mediaType {
        case "application/x-www-form-urlencoded":
            guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
                throw APIError(.badRequest, "request body must be UTF-8")
            }
            return try parseForm(text)
        case "application/json":
            return try parseJSON(buffer)
        default:
            throw APIError(
                .unsupportedMediaType,
                "content type must be application/x-www-form-urlencoded or application/json"
            )
        }
    }

    private static func parseForm(_ text: String) throws -> Fields {
        if text.isEmpty { return Fields(values: [:]) }
        do {
            return Fields(values: try URLEncodedFormDecoder().decode([String: String].self, from: text))
        } catch {
            throw APIError(.badRequest, "request body is not a valid form")
        }
    }

    private static func parseJSON(_ buffer: ByteBuffer) throws -> Fields {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(
                with: Data(buffer.readableBytesView), options: [.fragmentsAllowed])
        } catch {
            throw APIError(.badRequest, "request body is not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else {
            throw APIError(.badRequest, "request body must be a JSON object")
        }
        var values: [String: String] = [:]
        for (key, value) in dictionary {
            if let string = value as? String {
                values[key] = string
            } else if value is NSNull {
                continue
            } else {
                values[key] = nil
                throw APIError(.badRequest, "\(key) must be a string")
            }
        }
        return Fields(values: values)
    }

    /// A field the request must carry.
    /// - Parameter name: The field name.
    /// - Returns: Its value.
    /// - Throws: `APIError` 400 naming the field when it is missing.
    func required(_ name: String) throws -> String {
        guard let value = values[name] else {
            throw APIError(.badRequest, "missing field: \(name)")
        }
        return value
    }
}
