import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite

extension UsersCommand {
    struct Conflicts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accounts whose stored address could not take its canonical form.",
            discussion: """
                One line per account, one group after the other: id, stored email, canonical form or (invalid), \
                tab-separated. Resolve each with `users rename --id N NEW-EMAIL` or `users delete --id N`; \
                until then each logs in with its old spelling.
                """
        )

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let conflicts = try await Admin.withAuth(database) { auth, _ in try await auth.emailConflicts() }
            if conflicts.isEmpty {
                // On standard error: standard output stays one line per conflict for scripts.
                FileHandle.standardError.write(Data("no email conflicts\n".utf8))
            }
            for conflict in conflicts {
                print("\(conflict.userID)\t\(conflict.email)\t\(conflict.canonical ?? "(invalid)")")
            }
        }
    }
}
