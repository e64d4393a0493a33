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
        if dryRun {
            let pending: [String]
            switch settings.database {
            case .sqlite(let location):
                pending = try SQLiteStore.pendingMigrations(at: location)
            case .postgres(let configuration):
                pending = try await PostgresStore(configuration: configuration, logger: Admin.logger())
                    .pendingMigrations()
            }
            for migration in pending {
                print("would apply\t\(migration)")
            }
            return
        }
        let opened = try Database.open(settings.database, logger: Admin.logger())
        for migration in try await opened.prepare() {
            print("applied\t\(migration)")
        }
    }
}
