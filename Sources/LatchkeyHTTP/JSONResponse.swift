import Foundation
import Hummingbird

/// Builds the service's JSON responses.
enum JSONResponse {
    static let contentType = "application/json; charset=utf-8"

    /// A JSON object of strings with a status.
    static func make(_ status: HTTPResponse.Status, _ object: [String: String]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a dictionary of strings cannot fail.
        let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
