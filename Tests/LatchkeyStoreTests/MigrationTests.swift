import Foundation
import LatchkeyPostgres
import LatchkeySQLite
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("both stores have the same migrations, in the same order, by identifier")
    func sameMigrations() {
        #expect(!SQLiteStore.migrationIdentifiers.isEmpty)
        #expect(SQLiteStore.migrationIdentifiers == PostgresStore.migrationIdentifiers)
        #expect(Set(SQLiteStore.migrationIdentifiers).count == SQLiteStore.migrationIdentifiers.count)
    }

    @Test("a new SQLite database applies every migration, in order")
    func sqliteAppliesAll() throws {
        let store = try SQLiteStore(location: .memory)
        #expect(try store.appliedMigrations() == SQLiteStore.migrationIdentifiers)
    }
}
