import ArgumentParser
import Foundation
import GRDB
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite
import Logging
import Metrics

/// A command that could not do its work: `latchkey` prints `Error: <reason>` on one line on
/// standard error and exits with 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// What the operator commands share: the configuration, the migrated database, and `Auth`.
enum Admin {
    static func settings(_ database: DatabaseOptions) async throws -> Settings {
        try Settings.load(from: await Settings.reader(flags: database.flags))
    }

    static func logger() -> Logger {
        var logger = Logger(label: "latchkey")
        logger.logLevel = .warning
        return logger
    }

    /// Opens and migrates the database, builds `Auth` on it, and runs `body`.
    static func withAuth<T: Sendable>(
        _ database: DatabaseOptions,
        _ body: @escaping @Sendable (Auth, Database) async throws -> T
    ) async throws -> T {
        let settings = try await settings(database)
        let logger = logger()
        let opened = try Server.openDatabase(settings.database, logger: logger)
        try await opened.prepare()
        let hasher = BcryptPasswordHasher(cost: settings.bcryptCost, threads: 1)
        do {
            let result = try await opened.withRunning {
                let auth = try await Auth(
                    store: opened.store, hasher: hasher, policy: settings.policy,
                    metrics: AuthMetrics(factory: NOOPMetricsHandler.instance), logger: logger)
                return try await body(auth, opened)
            }
            try await hasher.shutdown()
            return result
        } catch {
            try? await hasher.shutdown()
            throw failure(error)
        }
    }

    /// A one-line reason for an error of the rules or the store.
    static func failure(_ error: any Error) -> any Error {
        switch error {
        // The same words as the API's error bodies.
        case let error as AuthError: CommandFailure(APIError(error).message)
        default: error
        }
    }
}

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
        let opened = try Server.openDatabase(settings.database, logger: Admin.logger())
        for migration in try await opened.prepare() {
            print("applied\t\(migration)")
        }
    }
}

/// `latchkey users`: list, create and delete users, and end their sessions.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage users on the configured database.",
        subcommands: [List.self, Create.self, Delete.self, RevokeSessions.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per user: email, created (RFC 3339), live sessions; tab-separated.")

        @Option(help: "The most users to list.")
        var limit = 100

        @Option(help: "List only emails after this one (for paging).")
        var after: String?

        @Flag(help: "One JSON object per line.")
        var json = false

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000000") }
        }

        func run() async throws {
            let (limit, after, json) = (limit, after, json)
            let users = try await Admin.withAuth(database) { auth, _ in
                try await auth.listUsers(after: after, limit: limit)
            }
            for user in users {
                if json {
                    let object: [String: Any] = [
                        "email": user.email, "created_at": rfc3339(user.createdAt), "live_sessions": user.liveSessions,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print("\(user.email)\t\(rfc3339(user.createdAt))\t\(user.liveSessions)")
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; the password is read from standard input (one line), never from the command line."
        )

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard let line = readLine(strippingNewline: true) else {
                throw CommandFailure("no password on standard input")
            }
            let email = email
            let user = try await Admin.withAuth(database) { auth, _ in
                try await auth.registerUser(email: email, password: line)
            }
            print("created\t\(user.email)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user with their sessions and reset token.")

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let email = email
            guard try await Admin.withAuth(database, { auth, _ in try await auth.deleteUser(email: email) }) else {
                throw CommandFailure("no such user: \(email)")
            }
            print("deleted\t\(email)")
        }
    }

    struct RevokeSessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-sessions", abstract: "End every session of a user.")

        @Argument(help: "The email.")
        var email: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let email = email
            guard
                let count = try await Admin.withAuth(
                    database, { auth, _ in try await auth.revokeSessions(email: email) })
            else {
                throw CommandFailure("no such user: \(email)")
            }
            print("revoked\t\(count)")
        }
    }
}

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

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let rows = try Self.readRows(path)
        let report = try await Admin.withAuth(database) { auth, _ in try await auth.importUsers(rows) }
        print("imported \(report.imported), skipped \(report.skipped.count)")
        for skipped in report.skipped {
            print("skipped\trow \(skipped.row)\t\(skipped.reason)")
        }
    }

    /// Reads the old `users` table, reporting progress on standard error for large files.
    static func readRows(_ path: String) throws -> [ImportedRow] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("no such file: \(path)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                guard try db.tableExists("users") else {
                    throw CommandFailure("\(path) has no users table")
                }
                let columns = Set(try db.columns(in: "users").map { $0.name.lowercased() })
                guard columns.contains("email"), columns.contains("hashed_password") else {
                    throw CommandFailure("\(path): the users table has no email and hashed_password columns")
                }
                let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0
                var rows: [ImportedRow] = []
                rows.reserveCapacity(total)
                let cursor = try Row.fetchCursor(db, sql: "SELECT email, hashed_password FROM users ORDER BY rowid")
                var number = 0
                while let row = try cursor.next() {
                    number += 1
                    rows.append(ImportedRow(row: number, email: text(row[0]), passwordHash: text(row[1])))
                    if number % 10_000 == 0 {
                        FileHandle.standardError.write(Data("read \(number) of \(total) rows\n".utf8))
                    }
                }
                return rows
            }
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("cannot read \(path): \(error)")
        }
    }

    /// A text or blob column as text; anything else (or invalid UTF-8) as an empty string,
    /// which the import then reports as malformed.
    private static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .string(let string): string
        case .blob(let data): String(data: data, encoding: .utf8) ?? ""
        default: ""
        }
    }
}
