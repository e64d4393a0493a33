import ArgumentParser
import LatchkeyApp

/// The executable's entry point: runs the `latchkey` command line.
@main
enum Entry {
    static func main() async {
        await LatchkeyCommand.main(nil)
    }
}
