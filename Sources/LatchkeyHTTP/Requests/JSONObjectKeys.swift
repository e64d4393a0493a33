import Foundation

/// The keys of a JSON object's top level, in order, repeats included: what a decoder that
/// keeps the last of repeated keys does not say.
enum JSONObjectKeys {
    /// The top-level keys of a JSON text that `JSONSerialization` has already accepted as an
    /// object (so the scan can trust its structure).
    /// - Parameter bytes: The UTF-8 text.
    /// - Returns: The keys, in order; empty when the text is not an object.
    static func topLevel(of bytes: [UInt8]) -> [String] {
        var keys: [String] = []
        var index = 0
        var depth = 0
        var expectingKey = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let end = endOfString(bytes, from: index)
                if depth == 1 && expectingKey,
                    let key = try? JSONSerialization.jsonObject(
                        with: Data(bytes[index..<end]), options: [.fragmentsAllowed]) as? String
                {
                    keys.append(key)
                    expectingKey = false
                }
                index = end
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = depth == 1 && byte == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            default:
                break
            }
            index += 1
        }
        return keys
    }

    /// The index just past the closing quote of the string that opens at `start`.
    private static func endOfString(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if bytes[index] == UInt8(ascii: "\"") { return index + 1 }
            index += 1
        }
        return bytes.count
    }
}
