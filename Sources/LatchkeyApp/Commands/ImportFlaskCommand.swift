import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

/// `latchkey import-flask PATH`: users from the original Flask service's SQLite file.
struct ImportFlaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-flask",
        abstract: "Import the users of the original Flask service's SQLite file, keeping their bcrypt hashes.",
        discussion: """
            Reads the `users` table (`email`, `hashed_password` as text or bytes). Emails are normalised; \
            sessions and reset tokens of the old service are dropped; malformed rows, duplicates and emails \
            already registered are reported and skipped; everything is imported in one transaction.
            """
    )

    @Argument(help: "The Flask service's SQLite file.")
    var path: String

    @Flag(name: .customLong("allow-high-cost"), help: "Import hashes above IMPORT_MAX_BCRYPT_COST too.")
    var allowHighCost = false

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let rows = try Self.readRows(path)
        let maximumCost = allowHighCost ? nil : try await Admin.settings(database).importMaxBcryptCost
        let report = try await Admin.withAuth(database) { auth, _ in
            try await auth.importUsers(rows, maximumCost: maximumCost)
        }
        print("imported \(report.imported), skipped \(report.skipped.count)")
        for skipped in report.skipped {
            print("skipped\trow \(skipped.row)\t\(skipped.reason)")
        }
    }

    /// Reads the old `users` table, reporting progress on standard error for large files.
    static func readRows(_ path: String) throws -> [ImportedRow] {
        do {
            return try FlaskDatabase.readUsers(at: path) { read, total in
                FileHandle.standardError.write(Data("read \(read) of \(total) rows\n".utf8))
            }
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
