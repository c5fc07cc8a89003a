import Foundation
import OPECore
import OPEStore

/// Sets up a fresh data dir so that one person can try OPE at once: an admin and, unless turned
/// off, an instructor and two participants (enough to pair in two browser windows).
///
/// The generated passwords are stored hashed like any other; their plain text is written once to
/// `initial-credentials.txt` (readable by the owner only) and printed at every start while that
/// file exists, so `make run` always says how to sign in. Deleting the file stops the printing.
struct FirstRun {
    let store: Store
    let demoUsers: Bool

    var credentialsFile: String { store.dataDirectory + "/initial-credentials.txt" }

    /// Creates the accounts if the data dir has none; returns the text telling how to sign in.
    func prepare() async throws -> String {
        if try await store.users.count() == 0 {
            var accounts = [(User(username: "admin", displayName: "Administrator", role: .admin), SecretToken.password())]
            if demoUsers {
                accounts += [
                    (User(username: "teacher", displayName: "Demo Instructor", role: .instructor), SecretToken.password()),
                    (User(username: "alice", displayName: "Alice (demo)", role: .participant), SecretToken.password()),
                    (User(username: "bob", displayName: "Bob (demo)", role: .participant), SecretToken.password()),
                ]
            }
            var lines = ["username  role         password"]
            for (user, password) in accounts {
                try await store.users.create(user, password: password, actor: "system")
                lines.append(user.username.padding(toLength: 10, withPad: " ", startingAt: 0) + user.role.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0) + password)
            }
            let text = lines.joined(separator: "\n") + "\n"
            FileManager.default.createFile(atPath: credentialsFile, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        }
        guard let text = try? String(contentsOfFile: credentialsFile, encoding: .utf8) else {
            return "Sign in with your OPE account (create one with `ope user add NAME --role admin --data \(store.dataDirectory)`)."
        }
        return """
            Sign in with one of these accounts (use two browser windows, or one private window, to pair alice and bob):
            \(text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            (from \(credentialsFile); delete that file once you have noted the admin password)
            """
    }
}
