import Foundation
import NIOHTTP1

/// What RFC 9110 and RFC 9112 ask of a server about a request head, before any route sees it.
enum HTTP1RequestRules {
    /// Why a request head is refused before routing.
    struct Refusal: Error, Equatable {
        /// The status: 400 for `Host`, 417 for an expectation other than `100-continue`.
        let status: HTTPResponseStatus
        /// The `message` of the JSON body.
        let message: String
    }

    /// Checks `Host` and `Expect`.
    /// - Parameter head: The request head as decoded.
    /// - Returns: Whether the client waits for `100 Continue` before sending its body: an
    ///   HTTP/1.1 request with `Expect: 100-continue` (an HTTP/1.0 client's expectation is
    ///   ignored, RFC 9110 10.1.1).
    /// - Throws: `Refusal` with 400 for an HTTP/1.1 request without `Host`, any request with
    ///   more than one `Host` line or an invalid value (RFC 9112 3.2); 417 for an `Expect`
    ///   member other than `100-continue` (RFC 9110 10.1.1).
    static func check(_ head: HTTPRequestHead) throws(Refusal) -> Bool {
        let hosts = head.headers["host"]
        if hosts.count > 1 {
            throw Refusal(status: .badRequest, message: "a request must have one Host header, not \(hosts.count)")
        }
        if let host = hosts.first {
            guard isValidHost(host) else {
                throw Refusal(status: .badRequest, message: "the Host header is not a host and optional port")
            }
        } else if isHTTP11OrLater(head.version) {
            throw Refusal(status: .badRequest, message: "an HTTP/1.1 request must have a Host header")
        }
        var expectsContinue = false
        for value in head.headers["expect"] {
            for member in value.split(separator: ",") {
                let name = member.trimmingCharacters(in: .whitespaces).lowercased()
                guard name == "100-continue" else {
                    throw Refusal(
                        status: .expectationFailed, message: "the only expectation understood is 100-continue")
                }
                expectsContinue = true
            }
        }
        return expectsContinue && isHTTP11OrLater(head.version)
    }

    /// Whether a `Host` value is `uri-host [ ":" port ]` (RFC 9112 3.2, RFC 3986 3.2.2): an
    /// IP literal in brackets, or a registered name or IPv4 address made of unreserved
    /// characters, sub-delimiters other than `,` (a proxy may read a comma as a list of two
    /// hosts) and `%` escapes; the port, digits only. An empty value is valid (a target
    /// without an authority).
    static func isValidHost(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        var index = 0
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
            let literal = bytes[1..<close]
            guard literal.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { return false }
            index = close + 1
        } else {
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                let byte = bytes[index]
                if byte == UInt8(ascii: "%") {
                    guard index + 2 < bytes.count, isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2])
                    else { return false }
                    index += 3
                    continue
                }
                guard isRegisteredNameByte(byte) else { return false }
                index += 1
            }
        }
        guard index < bytes.count else { return true }
        guard bytes[index] == UInt8(ascii: ":") else { return false }
        return bytes[(index + 1)...].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Whether a version is HTTP/1.1 or a later one.
    static func isHTTP11OrLater(_ version: HTTPVersion) -> Bool {
        version.major > 1 || (version.major == 1 && version.minor >= 1)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// RFC 3986's unreserved characters and sub-delimiters, without `,`.
    private static func isRegisteredNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~!$&'()*+;=".utf8.contains(byte)
        }
    }
}
