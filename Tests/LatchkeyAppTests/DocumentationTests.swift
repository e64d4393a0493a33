import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import LatchkeyUI
import Testing

@testable import LatchkeyApp

@Suite("Documentation")
struct DocumentationTests {
    static let root = PackageRoot.url

    /// The folders under `Sources/` that hold Swift files, as `Target/Folder/`.
    static func sourceFolders() throws -> Set<String> {
        let sources = Self.root.appendingPathComponent("Sources")
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        return Set(
            enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map(Self.folder(of:)))
    }

    /// The folder part of a relative path, with a trailing slash: `LatchkeyCore/Accounts/`.
    static func folder(of path: String) -> String {
        path.split(separator: "/").dropLast().joined(separator: "/") + "/"
    }

    /// Every file name under a folder of the package, recursively.
    static func fileNames(under folder: String) -> Set<String> {
        let url = Self.root.appendingPathComponent(folder)
        return Set(
            (FileManager.default.enumerator(atPath: url.path)?.compactMap { $0 as? String } ?? []).map {
                URL(fileURLWithPath: $0).lastPathComponent
            })
    }

    @Test("the architecture's map names every source folder, and every folder and file it names exists")
    func architectureMapIsComplete() throws {
        let map = try String(contentsOf: Self.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let folders = try Self.sourceFolders()
        #expect(folders.count > 10)
        for folder in folders.sorted() {
            #expect(map.contains("`\(folder)`"), "\(folder) is not in docs/architecture.md's map")
        }
        let named = map.split(separator: "`").map(String.init).filter { !$0.contains(" ") }
        let files = Self.fileNames(under: "Sources").union(Self.fileNames(under: "Tests"))
        for name in named where name.hasSuffix(".swift") {
            #expect(
                files.contains(URL(fileURLWithPath: name).lastPathComponent),
                "docs/architecture.md names \(name), which does not exist")
        }
        for name in named where name.hasPrefix("Latchkey") && name.hasSuffix("/") {
            #expect(folders.contains(name), "docs/architecture.md names the folder \(name), which holds no Swift file")
        }
    }

    @Test("the README stays a front door (200 lines at most) and the architecture a map (300 at most)")
    func documentLengths() throws {
        for (path, limit) in [("README.md", 200), ("docs/architecture.md", 300)] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            #expect(lines <= limit, "\(path) has \(lines) lines")
        }
    }

    @Test("no Swift folder holds more than 15 files")
    func folderSizes() throws {
        for top in ["Sources", "Tests"] {
            let url = Self.root.appendingPathComponent(top)
            let paths = FileManager.default.enumerator(atPath: url.path)?.compactMap { $0 as? String } ?? []
            var counts: [String: Int] = [:]
            for path in paths where path.hasSuffix(".swift") {
                counts[Self.folder(of: path), default: 0] += 1
            }
            for (folder, count) in counts {
                #expect(count <= 15, "\(top)/\(folder) holds \(count) Swift files")
            }
        }
    }

    /// The route table, built over an in-memory store.
    /// The route table as `serve` builds it in development: the API's routes and the pages'.
    static func routeTable() async throws -> RouteTable {
        let auth = try await Auth(store: InMemoryStore(), hasher: FastHasher())
        let pages = try Pages(auth: auth, options: HTTPOptions(), production: false, publicURL: nil)
        return RouteTable(auth: auth, options: HTTPOptions(), pages: pages.routes)
    }

    @Test("every documented route of the table is an operation of openapi.yaml, and every operation is in the table")
    func documentedRoutesMatchOpenAPI() async throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json())) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        let operations = Set(
            paths.flatMap { path, item in
                item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
            })
        let documented = Set(try await Self.routeTable().names(with: .documented))
        #expect(!documented.isEmpty)
        #expect(
            documented.subtracting(operations).isEmpty, "not in openapi.yaml: \(documented.subtracting(operations))")
        #expect(
            operations.subtracting(documented).isEmpty, "not in the route table: \(operations.subtracting(documented))")
    }

    @Test("the routes the per-client limit counts are the ones docs/security.md lists")
    func limitedRoutesMatchTheDocs() async throws {
        let security = try String(contentsOf: Self.root.appendingPathComponent("docs/security.md"), encoding: .utf8)
        let section =
            try #require(
                security.components(separatedBy: "\n### Routes the per-client limit counts\n").dropFirst().first
            )
            .components(separatedBy: "\n#").first ?? ""
        let listed = section.split(separator: "\n").filter { $0.hasPrefix("- `") }.compactMap {
            $0.split(separator: "`").dropFirst().first.map(String.init)
        }
        let limited = try await Self.routeTable().names(with: .clientLimited)
        #expect(!limited.isEmpty)
        #expect(Set(listed) == Set(limited), "docs/security.md lists \(listed); the table limits \(limited)")
        #expect(listed.count == Set(listed).count)
    }
}
