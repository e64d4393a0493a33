import ArgumentParser

/// `latchkey settings`: every setting the service reads, from the one catalog in `Settings.Key`.
struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "List every setting: its name, what it does and its defaults.",
        discussion: "With --list, only the names (the environment variables), one per line, for scripts."
    )

    @Flag(name: .long, help: "Print only the names, one per line.")
    var list = false

    func run() {
        if list {
            for key in Settings.Key.allCases { print(key.rawValue) }
        } else {
            print(Settings.Key.helpListing)
        }
    }
}
