import Foundation

/// The package's root directory: the nearest folder above this file that holds `Package.swift`,
/// so a test that reads the docs keeps working wherever its file sits under `Tests/`.
enum PackageRoot {
    static let url: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory.deleteLastPathComponent()
        }
        return directory
    }()
}
