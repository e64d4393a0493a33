import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a password for a command: at a terminal, asked twice on standard error with echo off
/// (so it shows neither on screen nor in the scrollback); from a pipe or file, one line, as a
/// script sends it. Never from the command line, where other users' `ps` would see it.
enum PasswordPrompt {
    /// Whether standard input is a terminal.
    static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// Whether standard output is a terminal (a person reading, not a pipe).
    static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Reads the password.
    /// - Returns: The password, without its line break.
    /// - Throws: `CommandFailure` when standard input ends before a password, or when the two
    ///   typed at a terminal differ.
    static func read() throws -> String {
        guard standardInputIsTerminal else {
            guard let line = readLine(strippingNewline: true) else {
                throw CommandFailure("no password on standard input")
            }
            return line
        }
        let first = try readHidden(prompt: "Password: ")
        let second = try readHidden(prompt: "Password (again): ")
        guard first == second else { throw CommandFailure("the two passwords differ; nothing was created") }
        return first
    }

    /// Reads one line from the terminal with echo off, restoring the terminal's settings after,
    /// whatever happens. Echo goes off before the prompt shows, and without discarding what was
    /// typed ahead (`TCSADRAIN`, not `TCSAFLUSH`), so a fast typist loses nothing and sees nothing.
    private static func readHidden(prompt: String) throws -> String {
        var original = termios()
        let saved = tcgetattr(STDIN_FILENO, &original) == 0
        if saved {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            // The line is still read whole (canonical mode), and a typed Enter still ends it.
            silent.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(STDIN_FILENO, TCSADRAIN, &silent)
        }
        defer {
            if saved { tcsetattr(STDIN_FILENO, TCSADRAIN, &original) }
        }
        FileHandle.standardError.write(Data(prompt.utf8))
        guard let line = readLine(strippingNewline: true) else {
            throw CommandFailure("no password typed")
        }
        return line
    }
}
