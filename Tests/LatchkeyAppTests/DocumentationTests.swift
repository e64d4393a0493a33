import Foundation
import Testing

@Suite("Documentation")
struct DocumentationTests {
    static let root = PackageRoot.url

    @Test("the architecture's map names every source file, and every file it names exists")
    func architectureMapIsComplete() throws {
        let map = try String(contentsOf: Self.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let sources = Self.root.appendingPathComponent("Sources")
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        let files = Set(
            enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map {
                URL(fileURLWithPath: $0).lastPathComponent
            })
        #expect(!files.isEmpty)
        for file in files.sorted() {
            #expect(map.contains("`\(file)`") || map.contains("/\(file)`"), "\(file) is not in docs/architecture.md")
        }
        let named = map.split(separator: "`").filter { $0.hasSuffix(".swift") && !$0.contains(" ") }.map {
            URL(fileURLWithPath: String($0)).lastPathComponent
        }
        let tests = Self.root.appendingPathComponent("Tests")
        let testFiles = Set(
            (FileManager.default.enumerator(atPath: tests.path)?.compactMap { $0 as? String } ?? []).map {
                URL(fileURLWithPath: $0).lastPathComponent
            })
        for file in named {
            #expect(
                files.contains(file) || testFiles.contains(file),
                "docs/architecture.md names \(file), which does not exist")
        }
    }
}
