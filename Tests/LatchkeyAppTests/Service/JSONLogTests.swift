import Foundation
import Logging
import Synchronization
import Testing

@testable import LatchkeyApp

@Suite("JSON log lines")
struct JSONLogTests {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "refused by the test" }
    }

    /// Logs through a `JSONLogHandler` and returns the decoded lines.
    func lines(_ body: (Logger) -> Void) throws -> [[String: Any]] {
        let written = Mutex<[String]>([])
        var logger = Logger(label: "latchkey.test") { label in
            JSONLogHandler(label: label) { line in written.withLock { $0.append(line) } }
        }
        logger[metadataKey: "request_id"] = "r-1"
        body(logger)
        return try written.withLock { $0 }.map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test("a line carries level, message, label, time and metadata")
    func fields() throws {
        let records = try lines { $0.notice("started", metadata: ["status": .stringConvertible(200)]) }
        let record = try #require(records.first)
        #expect(records.count == 1)
        #expect(record["level"] as? String == "notice")
        #expect(record["message"] as? String == "started")
        #expect(record["label"] as? String == "latchkey.test")
        #expect(record["request_id"] as? String == "r-1")
        #expect(record["status"] as? Int == 200)
        let time = try #require(record["time"] as? String)
        #expect(time.hasSuffix("Z"))
        #expect(record["error"] == nil)
    }

    @Test("an error handed to the logger is written")
    func error() throws {
        let records = try lines { $0.warning("webhook failed", error: Refused()) }
        #expect(records.first?["error"] as? String == "refused by the test")
    }

    @Test("events below the handler's level are dropped")
    func level() throws {
        let records = try lines { $0.debug("hidden") }
        #expect(records.isEmpty)
    }
}
