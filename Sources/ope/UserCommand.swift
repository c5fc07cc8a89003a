import ArgumentParser
import Foundation
import OPECore
import OPEStore

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage accounts in a data dir (works while the server is stopped or running).",
        subcommands: [Add.self, List.self, Import.self, Token.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")
        @Argument(help: "Username: lowercase letters, digits, '.', '-', '_'.") var username: String
        @Option(help: "Password (at least 8 characters); generated and printed when omitted.") var password: String?
        @Option(help: "participant, instructor or admin.") var role: PlatformRole = .participant
        @Option(name: .customLong("display-name"), help: "Name shown to others (default: the username).") var displayName: String?
        @OptionGroup var data: DataOptions

        func run() async throws {
            let store = try Store.open(data)
            let secret = password ?? SecretToken.password()
            do {
                try await store.users.create(User(username: username, displayName: displayName ?? username, role: role), password: secret, actor: "cli")
            } catch let error as UserStoreError {
                throw CLIError(error.description)
            } catch let error as UsernameError {
                throw CLIError(error.description)
            }
            print("created \(role) '\(username)'" + (password == nil ? " with password \(secret)" : ""))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let store = try Store.open(data)
            for user in try await store.users.list() {
                print("\(user.username)\t\(user.role)\t\(user.displayName)")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create accounts from a roster CSV (username, display name, role).",
            discussion: "Prints username,password for every new account; existing accounts are left alone and reported."
        )
        @Argument(help: "CSV file; a header row is optional.") var file: String
        @OptionGroup var data: DataOptions

        func run() async throws {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw CLIError("cannot read \(file): \(error.localizedDescription)")
            }
            let roster: Roster
            do {
                roster = try Roster(csv: text, file: file)
            } catch {
                throw CLIError("\(error)")
            }
            let store = try Store.open(data)
            print("username,password")
            var skipped = 0
            for entry in roster.entries {
                let password = SecretToken.password()
                do {
                    try await store.users.create(User(username: entry.username, displayName: entry.displayName, role: entry.role), password: password, actor: "cli")
                    print("\(entry.username),\(password)")
                } catch UserStoreError.exists {
                    skipped += 1
                    FileHandle.standardError.write(Data("\(file):\(entry.line): '\(entry.username)' already exists, left unchanged\n".utf8))
                }
            }
            FileHandle.standardError.write(Data("imported \(roster.entries.count - skipped) accounts, \(skipped) already existed\n".utf8))
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API token (for scripts, `Authorization: Bearer`) and print it once.")
        @Argument var username: String
        @Option(help: "What the token is for.") var name: String = "cli"
        @OptionGroup var data: DataOptions

        func run() async throws {
            let store = try Store.open(data)
            guard let user = try await store.users.find(username) else { throw CLIError("no user '\(username)'") }
            print(try await store.tokens.create(for: user, name: name, actor: "cli"))
        }
    }
}

extension PlatformRole: ExpressibleByArgument {}
