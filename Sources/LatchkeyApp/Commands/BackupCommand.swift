import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyPostgres
import LatchkeySQLite

/// `latchkey backup PATH`: an online, consistent copy of the SQLite database.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the SQLite database to a new file, consistently, while the service runs."
    )

    @Argument(help: "The new file; it must not exist.")
    var path: String

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let settings = try await Admin.settings(database)
        guard case .sqlite(let location) = settings.database else {
            throw CommandFailure("backup copies SQLite databases; for PostgreSQL use pg_dump")
        }
        guard case .file(let source) = location else {
            throw CommandFailure("an in-memory database has nothing to back up")
        }
        guard FileManager.default.fileExists(atPath: source) else {
            throw CommandFailure("no database at \(source)")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("\(path) exists; choose a new file")
        }
        let store = try SQLiteStore(location: location)
        try store.backup(to: path)
        try store.close()
        print("backed up\t\(source)\t\(path)")
    }
}
