import Foundation
import Hummingbird
import NIOCore

/// The fields of a request body, from `application/x-www-form-urlencoded` (the contract)
/// or a JSON object with the same keys.
public struct Fields: Sendable {
    /// The largest body accepted, in bytes.
    public static let maximumBodySize = 64 * 1024

    /// The string values, by name.
    let values: [String: String]
    /// Names sent more than once: a 400 when the route reads them (a proxy that read the first
    /// and a server that read the last would disagree about the request), ignored otherwise.
    var repeated: Set<String> = []
    /// Names whose JSON value is neither a string nor null: a 400 when the route reads them.
    var nonStrings: Set<String> = []
    /// A form body that is a JSON object or array (curl's `-d '{...}'` says it is a form unless
    /// told otherwise): a missing field then says which content type to send.
    var jsonSentAsForm = false

    /// Reads and parses a request body. Everything the headers decide is checked before the
    /// body is read, and only then is a client that sent `Expect: 100-continue` told to send
    /// it, so that a refused request is answered at once (RFC 9110 10.1.1).
    /// - Parameters:
    ///   - request: The request.
    ///   - context: Its context, for `100 Continue`.
    /// - Throws: `APIError` with 413 for a body over 64 KiB, 415 for another content type or a
    ///   `Content-Encoding` other than `identity`, 400 for a body that does not parse or does
    ///   not arrive whole, 408 when the connection's body timeout (or the shutdown timeout)
    ///   closed it while the body was being read; `CancellationError` when the task is cancelled.
    public static func read(from request: Request, context: LatchkeyRequestContext) async throws -> Fields {
        // Bodies are not decoded here, so a body labelled with an encoding is refused rather
        // than read as it is: a proxy that honours the label would see another body (RFC 9110
        // 15.5.16).
        for encoding in request.headers[values: .contentEncoding] {
            for token in encoding.split(separator: ",") {
                let name = token.trimmingCharacters(in: .whitespaces).lowercased()
                if name != "identity" && !name.isEmpty {
                    throw APIError(.unsupportedMediaType, "content encoding must be identity (bodies are not decoded)")
                }
            }
        }
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if let length, length > maximumBodySize {
            throw APIError(.contentTooLarge, "request body must be at most \(maximumBodySize) bytes")
        }
        let mediaType = request.headers[.contentType].map { header in
            header.split(separator: ";", maxSplits: 1).first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        }
        let known = mediaType == "application/x-www-form-urlencoded" || mediaType == "application/json"
        if !known && ((mediaType ?? "") != "" || (length ?? 0) > 0) {
            throw unsupportedMediaType
        }
        context.acceptBody(of: request)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBodySize)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body must be at most \(maximumBodySize) bytes")
        } catch is ConnectionTimeoutError {
            throw APIError(.requestTimeout, "the request body stalled and the connection was closed")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The client closed the connection, or sent a body its framing does not allow.
            throw APIError(.badRequest, "the request body did not arrive whole")
        }
        if buffer.readableBytes == 0 && (mediaType == nil || mediaType == "") {
            return Fields(values: [:])
        }
        switch mediaType {
        case "application/x-www-form-urlencoded":
            return try parseForm(Array(buffer.readableBytesView))
        case "application/json":
            // Checked before parsing: a decoder may repair invalid bytes instead of refusing them.
            guard String(validating: buffer.readableBytesView, as: UTF8.self) != nil else {
                throw APIError(.badRequest, "request body must be UTF-8")
            }
            return try parseJSON(buffer)
        default:
            throw unsupportedMediaType
        }
    }

    private static let unsupportedMediaType = APIError(
        .unsupportedMediaType, "content type must be application/x-www-form-urlencoded or application/json")

    /// Parses `application/x-www-form-urlencoded` (WHATWG URL standard, 5.1): pairs split by
    /// `&`, name and value by the first `=`, `+` for a space, `%XX` for a byte. Every name and
    /// value must be UTF-8 once decoded: a decoder that repairs invalid bytes with U+FFFD would
    /// let two different byte strings be one password or one address.
    /// - Throws: `APIError` 400 for bytes that are not UTF-8 (raw or percent-encoded), or a
    ///   broken `%` escape.
    static func parseForm(_ bytes: [UInt8]) throws -> Fields {
        var values: [String: String] = [:]
        var repeated: Set<String> = []
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decodeFormComponent(parts[0])
            let value = try parts.count > 1 ? decodeFormComponent(parts[1]) : ""
            if values.updateValue(value, forKey: name) != nil {
                repeated.insert(name)
            }
        }
        var fields = Fields(values: values, repeated: repeated)
        let first = bytes.first { ![UInt8(ascii: " "), 0x09, 0x0A, 0x0D].contains($0) }
        fields.jsonSentAsForm = first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        return fields
    }

    /// One percent-decoded name or value, checked to be UTF-8.
    private static func decodeFormComponent(_ component: ArraySlice<UInt8>) throws -> String {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(component.count)
        var index = component.startIndex
        while index < component.endIndex {
            let byte = component[index]
            if byte == UInt8(ascii: "+") {
                decoded.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < component.endIndex,
                    let high = hexValue(component[index + 1]), let low = hexValue(component[index + 2])
                else {
                    throw APIError(
                        .badRequest, "request body is not a valid form: a % must be followed by two hex digits")
                }
                decoded.append(high << 4 | low)
                index += 2
            } else {
                decoded.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            throw APIError(.badRequest, "request body must be UTF-8, also after percent-decoding")
        }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
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
        var nonStrings: Set<String> = []
        for (key, value) in dictionary {
            if let string = value as? String {
                values[key] = string
            } else if !(value is NSNull) {
                nonStrings.insert(key)
            }
        }
        // JSONSerialization keeps the last of repeated keys without a word: find them ourselves.
        var seen: Set<String> = []
        var repeated: Set<String> = []
        for key in JSONObjectKeys.topLevel(of: Array(buffer.readableBytesView)) where !seen.insert(key).inserted {
            repeated.insert(key)
        }
        return Fields(values: values, repeated: repeated, nonStrings: nonStrings)
    }

    /// A field the request must carry.
    /// - Parameter name: The field name.
    /// - Returns: Its value.
    /// - Throws: `APIError` 400 naming the field when it is sent more than once, is not a
    ///   string, or is missing (JSON `null` counts as missing).
    public func required(_ name: String) throws -> String {
        guard let value = try optional(name) else {
            if jsonSentAsForm {
                throw APIError(
                    .badRequest,
                    "missing field: \(name) (the body is JSON but was sent as a form: "
                        + "send it with Content-Type: application/json)")
            }
            throw APIError(.badRequest, "missing field: \(name)")
        }
        return value
    }

    /// A field the request may carry.
    /// - Parameter name: The field name.
    /// - Returns: Its value, or `nil` when it is missing (JSON `null` counts as missing).
    /// - Throws: `APIError` 400 naming the field when it is sent more than once or is not a
    ///   string.
    public func optional(_ name: String) throws -> String? {
        if repeated.contains(name) {
            throw APIError(.badRequest, "field \(name) must be sent once")
        }
        if nonStrings.contains(name) {
            throw APIError(.badRequest, "\(name) must be a string")
        }
        return values[name]
    }
}

extension Fields {
    /// The one-time or recovery code a route may carry (`code`); empty counts as missing, as a
    /// form with an empty field sends `code=`.
    /// - Returns: The code, or `nil` when it is missing or empty.
    /// - Throws: `APIError` 400 when it is sent more than once or is not a string.
    public func code() throws -> String? {
        guard let code = try optional("code"), !code.isEmpty else { return nil }
        return code
    }
}
