import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyPostgres
import LatchkeySQLite

/// `latchkey migrate`: brings the database schema up to date and lists the migrations.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the database schema up to date (forward only, idempotent; never drops data)."
    )

    @Flag(name: .customLong("dry-run"), help: "List the migrations that would run, and run none.")
    var dryRun = false

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let settings = try await Admin.settings(database)
        let pending = try await Self.pending(settings.database)
        if dryRun {
            for migration in pending {
                print("would apply\t\(migration)")
            }
            if pending.isEmpty { Self.sayUpToDate() }
            return
        }
        // Standard output lists every migration the schema has, applied now or before.
        let opened = try Database.open(settings.database, logger: Admin.logger())
        for migration in try await opened.prepare() {
            print("applied\t\(migration)")
        }
        if pending.isEmpty { Self.sayUpToDate() }
    }

    /// The migrations the database lacks, oldest first; nothing is created or changed.
    private static func pending(_ database: DatabaseLocation) async throws -> [String] {
        switch database {
        case .sqlite(let location):
            return try SQLiteStore.pendingMigrations(at: location)
        case .postgres(let configuration):
            return try await PostgresStore(configuration: configuration, logger: Admin.logger()).pendingMigrations()
        }
    }

    /// Says that nothing was (or would be) applied, on standard error: standard output stays one
    /// line per migration for scripts.
    private static func sayUpToDate() {
        FileHandle.standardError.write(Data("nothing to migrate: the schema is up to date\n".utf8))
    }
}
