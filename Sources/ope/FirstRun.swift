import Foundation
import Logging
import OPECLI
import OPECore
import OPEStore

/// Sets up a fresh data dir so that one person can try OPE at once: an admin and, unless turned
/// off, an instructor and two participants (enough to pair in two browser windows).
///
/// The generated passwords are stored hashed like any other; their plain text is written once to
/// `initial-credentials.txt` (readable by the owner only) and printed at every start while that
/// file exists, so `make run` always says how to sign in. Deleting the file stops the printing.
///
/// Every start says what was and was not created: a data dir that already had accounts at its
/// first start (`ope user add` or `import` before `ope serve`) gets no demo accounts, and the
/// output says so instead of leaving people to wonder where `alice` went.
struct FirstRun {
    let store: Store
    let demoUsers: Bool
    var logger = Logger(label: "ope")

    var credentialsFile: String { store.dataDirectory + "/initial-credentials.txt" }

    /// Creates the accounts if the data dir has none; returns the text telling how to sign in.
    func prepare() async throws -> String {
        var summary: String
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
                lines.append(
                    user.username.padding(toLength: 10, withPad: " ", startingAt: 0) + user.role.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)
                        + password)
            }
            let text = lines.joined(separator: "\n") + "\n"
            guard FileManager.default.createFile(atPath: credentialsFile, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                // The accounts exist now; without the file nobody would know their passwords.
                throw CLIError("could not write \(credentialsFile), which would say how to sign in: is the data folder writable?")
            }
            summary =
                demoUsers
                ? "First run: created the admin account and the demo accounts teacher, alice and bob."
                : "First run: created the admin account only (--no-demo-users: no demo accounts)."
            logger.notice("first run: accounts created", metadata: ["accounts": "\(accounts.map(\.0.username).joined(separator: ","))"])
        } else {
            summary = try await existingAccountsSummary()
        }
        guard let text = try? String(contentsOfFile: credentialsFile, encoding: .utf8) else {
            return summary
                + "\nSign in with your OPE account (an admin creates accounts at /admin, or `ope user add NAME --role admin --data \(store.dataDirectory)`)."
        }
        return """
            \(summary)
            Sign in with one of these accounts (use two browser windows, or one private window, to pair alice and bob):
            \(text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            (from \(credentialsFile); delete that file once you have noted the admin password)
            """
    }

    /// What a start on a data dir with accounts says: how many, who administers them, and, if the
    /// accounts came before the first start, that no demo accounts were made.
    func existingAccountsSummary() async throws -> String {
        let users = try await store.users.list()
        let admins = users.filter { $0.role == .admin && !$0.disabled }.map(\.username)
        var lines = [
            "Accounts: \(users.count) (\(admins.count) admin\(admins.count == 1 ? "" : "s")\(admins.isEmpty ? "" : ": " + admins.joined(separator: ", ")))."
        ]
        let madeByFirstRun = try await store.reader.events(EventFilter(types: [.userCreated]), limit: 10_000).contains { $0.actor == "system" }
        if !madeByFirstRun {
            lines.append(
                "No admin or demo accounts were created: the data dir already had accounts when OPE first started (made with `ope user add` or `ope user import`)."
            )
            logger.notice("demo accounts not created because accounts existed before the first start", metadata: ["accounts": "\(users.count)"])
        }
        if admins.isEmpty {
            lines.append("WARNING: no admin can manage accounts; create one with `ope user add NAME --role admin --data \(store.dataDirectory)`.")
            logger.warning("no enabled admin account")
        }
        return lines.joined(separator: "\n")
    }
}
