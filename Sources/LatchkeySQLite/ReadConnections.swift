import Foundation
import GRDB
import Synchronization

/// Read-only connections to a database file, each one a GRDB `DatabaseQueue`, for reads that
/// run on the calling thread.
///
/// GRDB's `DatabasePool` hands out its readers through a pool guarded by a semaphore and
/// dispatch queues shared by every reading thread, and runs `PRAGMA schema_version` before each
/// read. With two or more threads reading at once, that machinery and the futex waits it causes
/// cost more than the indexed statement itself (see docs/benchmarks.md). Here a thread claims a
/// free connection with one atomic compare-and-exchange; when every connection is busy it waits
/// on one of them, whose queue serialises its users. A single statement outside a transaction
/// reads one consistent snapshot of the WAL by itself, and sees every commit acknowledged before
/// it started.
///
/// The schema only changes through migrations, which only add; SQLite prepares a cached
/// statement again by itself when the schema it was prepared against has changed.
final class ReadConnections: Sendable {
    private final class Connection: Sendable {
        let queue: DatabaseQueue
        let claimed = Atomic<Bool>(false)

        init(queue: DatabaseQueue) {
            self.queue = queue
        }
    }

    private let connections: [Connection]
    private let overflow = Atomic<Int>(0)

    /// Opens `count` read-only connections to an existing database file.
    /// - Parameters:
    ///   - path: The database file; the writer has created it and put it in WAL mode.
    ///   - count: How many connections, at least one.
    ///   - busyTimeout: How long a statement waits for a lock before it fails.
    /// - Throws: GRDB's error when a connection cannot be opened.
    init(path: String, count: Int, busyTimeout: TimeInterval) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "latchkey.reader"
        connections = try (0..<max(1, count)).map { _ in
            Connection(queue: try DatabaseQueue(path: path, configuration: configuration))
        }
    }

    /// How many connections there are.
    var count: Int { connections.count }

    /// Closes every connection; a read afterwards fails with GRDB's "connection is closed".
    /// - Throws: GRDB's error when a connection cannot be closed.
    func close() throws {
        for connection in connections {
            try connection.queue.close()
        }
    }

    /// Runs `body` on a free connection, on the calling thread; `body` must not suspend or
    /// read through this set again.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        for connection in connections
        where connection.claimed.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            defer { connection.claimed.store(false, ordering: .releasing) }
            return try connection.queue.inDatabase(body)
        }
        // Every connection is busy for a few microseconds: queue behind one of them.
        let index = overflow.wrappingAdd(1, ordering: .relaxed).oldValue
        return try connections[Int(index.magnitude % UInt(connections.count))].queue.inDatabase(body)
    }
}
