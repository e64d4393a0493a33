import Foundation
import GRDB
import LatchkeyCore

/// The SQLite implementation of `AuthStore`, on GRDB. A file database is written through a
/// `DatabasePool` (WAL mode, `synchronous=FULL` on its writer connection so that an acknowledged
/// write is on disk) and read on `ReadConnections`, read-only connections claimed by the calling
/// thread; an in-memory database uses one `DatabaseQueue` for both.
public final class SQLiteStore: AuthStore {
    /// Where the database lives.
    public enum Location: Sendable, Equatable {
        /// A file, created when missing.
        case file(path: String)
        /// A private in-memory database, gone when the process ends.
        case memory
    }

    let writer: any DatabaseWriter
    /// The connections every read of a file database runs on; nil in memory, where the one
    /// connection of the `DatabaseQueue` serves reads too.
    let readers: ReadConnections?

    /// Opens (creating when missing) the database and brings its schema up to date.
    /// Migrations only add; nothing is ever dropped.
    /// - Parameter location: The file or memory.
    /// - Throws: `StoreError.unavailable` when the file cannot be opened or migrated.
    public init(location: Location) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        do {
            switch location {
            case .file(let path):
                try Self.createOwnerOnly(path)
                let pool = try DatabasePool(path: path, configuration: configuration)
                // GRDB sets synchronous=NORMAL when it enables WAL, after `prepareDatabase`;
                // FULL on the one writer connection makes every acknowledged commit durable.
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
                writer = pool
            case .memory:
                writer = try DatabaseQueue(configuration: configuration)
            }
            try Self.migrator.migrate(writer)
            // Opened once the schema is current. One connection per thread that can read at once
            // (the cooperative pool's and the event loops'), and two more for threads outside them.
            if case .file(let path) = location {
                readers = try ReadConnections(
                    path: path, count: ProcessInfo.processInfo.activeProcessorCount + 2, busyTimeout: 5)
            } else {
                readers = nil
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// Reads one row from the database.
    public func checkAvailable() async throws {
        _ = try readHere { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: Helpers

    /// Runs one statement on a read-only connection on the calling thread, without the read
    /// transaction around it (a single statement reads one consistent snapshot by itself).
    ///
    /// Every read of this store goes through here, never through an awaited read: a connection
    /// is then only ever held by a thread that is running, so a thread waiting for one always
    /// gets it. Mixing the two could deadlock: awaited reads hold connections while their tasks
    /// wait for a cooperative thread, and blocked threads wait for those connections. Every read
    /// here is a few indexed statements, microseconds long.
    func readHere<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            if let readers { return try readers.read(body) }
            return try writer.unsafeRead(body)
        } catch {
            throw Self.translate(error)
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.write(body)
        } catch {
            throw Self.translate(error)
        }
    }
}

extension SQLiteStore {
    /// Closes the database connections; every later call fails with `StoreError.unavailable`.
    /// - Throws: `StoreError.unavailable` when a connection cannot be closed.
    public func close() throws {
        do {
            try readers?.close()
            if let pool = writer as? DatabasePool {
                try pool.close()
            } else if let queue = writer as? DatabaseQueue {
                try queue.close()
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// The durability settings of a writer connection, for operators and tests.
    /// - Returns: The journal mode and the `synchronous` level (2 is FULL).
    /// - Throws: `StoreError.unavailable` when the database cannot be read.
    public func pragmas() throws -> (journalMode: String, synchronous: Int) {
        do {
            return try writer.write { db in
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
                let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
                return (mode, synchronous)
            }
        } catch {
            throw Self.translate(error)
        }
    }
}

extension SQLiteStore {
    /// Creates a file readable and writable by its owner only (0600), whatever the umask, when it
    /// does not exist yet: the database holds password hashes and token digests. SQLite gives its
    /// `-wal` and `-shm` files the database file's permissions.
    /// - Parameter path: The file.
    /// - Throws: `StoreError.unavailable` when it cannot be created.
    static func createOwnerOnly(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            // The umask may have taken bits away, never added any; set the mode exactly.
            fchmod(descriptor, 0o600)
            closeDescriptor(descriptor)
            return
        }
        if errno == EEXIST { return }
        throw StoreError.unavailable("cannot create \(path): \(String(cString: strerror(errno)))")
    }
}

/// Closes a file descriptor (outside `SQLiteStore`, where `close` names the store's method).
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
