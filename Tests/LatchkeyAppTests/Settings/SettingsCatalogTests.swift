import Foundation
import Testing

@testable import LatchkeyApp

/// The catalog in `Settings.Key` is the one list of settings: docs/configuration.md's table, `serve --help`
/// and the loaded defaults must all agree with it.
@Suite("The settings catalog")
struct SettingsCatalogTests {
    /// One row of docs/configuration.md's settings table.
    struct ReadmeRow {
        var flag: String?
        var developmentDefault: String?
        var productionDefault: Settings.Key.ProductionDefault
    }

    /// The first `code` span of a table cell, or `nil` when the cell starts with "none".
    static func value(_ cell: String) -> String? {
        if cell.hasPrefix("none") { return nil }
        let parts = cell.split(separator: "`", omittingEmptySubsequences: false)
        return parts.count >= 3 ? String(parts[1]) : nil
    }

    /// docs/configuration.md's settings table, by variable name.
    static func readmeTable() throws -> [String: ReadmeRow] {
        let readme = try String(
            contentsOf: PackageRoot.url.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let section =
            try #require(readme.components(separatedBy: "\n## Settings\n").last)
            .components(separatedBy: "\n## ").first ?? ""
        var rows: [String: ReadmeRow] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let name = try #require(value(cells[0]))
            let production: Settings.Key.ProductionDefault
            if cells[3].isEmpty {
                production = .same
            } else if cells[3].hasPrefix("none: must be set") {
                production = .required
            } else {
                production = .value(try #require(value(cells[3])))
            }
            rows[name] = ReadmeRow(
                flag: value(cells[1]), developmentDefault: value(cells[2]), productionDefault: production)
        }
        return rows
    }

    /// Loads settings from an environment alone (no flags, no `.env` file).
    static func load(_ environment: [String: String]) async throws -> Settings {
        try Settings.load(
            from: await Settings.reader(flags: [:], environment: environment, dotEnvPath: "/nonexistent/.env"))
    }

    @Test("docs/configuration.md's table names every setting, with the catalog's defaults and serve's options")
    func readmeMatchesCatalog() throws {
        let table = try Self.readmeTable()
        #expect(Set(table.keys) == Set(Settings.Key.allCases.map(\.rawValue)))
        let options = Dictionary(uniqueKeysWithValues: ServeCommand.dedicatedOptions.map { ($0.key, "--\($0.option)") })
        for key in Settings.Key.allCases {
            let row = try #require(table[key.rawValue], "\(key.rawValue) is missing from docs/configuration.md")
            #expect(row.developmentDefault == key.defaultValue, "\(key.rawValue)")
            #expect(row.productionDefault == key.productionDefault, "\(key.rawValue)")
            #expect(row.flag == options[key], "\(key.rawValue)")
        }
    }

    @Test("serve --help and the settings listing name every setting")
    func helpListsEverySetting() {
        let help = ServeCommand.helpMessage(columns: 1000)
        let listing = Settings.Key.helpListing
        for key in Settings.Key.allCases {
            #expect(help.contains("\(key.rawValue): "), "\(key.rawValue)")
            #expect(listing.contains("\(key.rawValue): \(key.summary)"), "\(key.rawValue)")
        }
        #expect(Set(ServeCommand.dedicatedOptions.map(\.key)).count == ServeCommand.dedicatedOptions.count)
    }

    @Test("each development default in the catalog is what the service uses when the setting is not given")
    func developmentDefaultsAreLoaded() async throws {
        let unset = try await Self.load([:])
        for key in Settings.Key.allCases {
            guard let value = key.defaultValue else { continue }
            #expect(try await Self.load([key.rawValue: value]) == unset, "\(key.rawValue)=\(value)")
        }
    }

    @Test("each production default in the catalog is what the production profile uses")
    func productionDefaultsAreLoaded() async throws {
        let base = [
            "LATCHKEY_ENV": "production", "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
            "METRICS_TOKEN": "metrics-t0ken",
        ]
        let unset = try await Self.load(base)
        #expect(unset != (try await Self.load([:])))
        for key in Settings.Key.allCases where base[key.rawValue] == nil {
            let value: String?
            switch key.productionDefault {
            case .same: value = key.defaultValue
            case .value(let production): value = production
            case .required: value = nil
            }
            guard let value else { continue }
            #expect(
                try await Self.load(base.merging([key.rawValue: value]) { $1 }) == unset, "\(key.rawValue)=\(value)")
        }
    }

    @Test("a setting production requires stops start-up, naming it, when it is missing")
    func productionRequiredSettings() async throws {
        // Each required setting given a valid value, so that the one left out is the one named.
        let satisfied = [
            "TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
            "METRICS_TOKEN": "metrics-t0ken",
        ]
        for key in Settings.Key.allCases where key.productionDefault == .required {
            var environment = satisfied.filter { $0.key != key.rawValue }
            environment["LATCHKEY_ENV"] = "production"
            let error = await #expect(throws: ConfigurationError.self) {
                _ = try await Self.load(environment)
            }
            #expect(error?.description.hasPrefix(key.rawValue) == true)
        }
    }
}
