import ArgumentParser
import Foundation
import OPECLI
import OPECore
import OPEStore

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage accounts in a data dir (works while the server is stopped or running).",
        subcommands: [Add.self, List.self, Import.self, Token.self, Hash.self]
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

    /// `ope user hash`: a password hash for an OPEUser's Secret on Kubernetes.
    struct Hash: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the scrypt hash of a password read from standard input, for an OPEUser's Secret (key password-hash).",
            discussion: "Example: ope user hash < password.txt > hash && kubectl -n ope create secret generic ope-user-alice --from-file=password-hash=hash"
        )

        func run() async throws {
            guard let line = readLine(strippingNewline: true), line.count >= 8 else {
                throw CLIError("give the password (at least 8 characters) on standard input")
            }
            print(try PasswordHasher.standard.hash(line), terminator: "")
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
            let result = try await store.users.importRoster(roster, actor: "cli")
            print("username,password")
            for (user, password) in result.created { print("\(user.username),\(password)") }
            for entry in result.existing {
                FileHandle.standardError.write(Data("\(file):\(entry.line): '\(entry.username)' already exists, left unchanged\n".utf8))
            }
            FileHandle.standardError.write(Data("imported \(result.created.count) accounts, \(result.existing.count) already existed\n".utf8))
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "API tokens (for scripts, `Authorization: Bearer`): create (the default), list, revoke.",
            subcommands: [Create.self, List.self, Revoke.self], defaultSubcommand: Create.self
        )

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an API token for USERNAME and print it once (`ope user token NAME` does the same).")
            @Argument var username: String
            @Option(help: "What the token is for.") var name: String = "cli"
            @Option(help: "How long it works: 90d (the default), 12h, 30d... at most 365d.") var expires: String = "90d"
            @OptionGroup var data: DataOptions

            func run() async throws {
                guard let lifetime = DurationText.parse(expires), lifetime >= .seconds(60), lifetime <= .seconds(Int(APIToken.maxLifetime)) else {
                    throw CLIError("--expires: '\(expires)' is not a duration from 1m to 365d (such as 90d or 12h)")
                }
                let store = try Store.open(data)
                guard let user = try await store.users.find(username) else { throw CLIError("no user '\(username)'") }
                let issued: APIToken.Issued
                do {
                    issued = try await store.tokens.create(for: user, name: name, lifetime: lifetime.timeInterval, actor: "cli")
                } catch let error as UserStoreError {
                    throw CLIError(error.description)
                }
                print(issued.secret)
                let expiry = issued.token.expiresAt.map(EventExporter.timestamp) ?? "never"
                FileHandle.standardError.write(Data("token \(issued.token.id) for \(username), expires \(expiry); it is not shown again\n".utf8))
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List API tokens (never their secrets): id, user, name, created, expires, last used.")
            @Argument(help: "Only this user's tokens.") var username: String?
            @OptionGroup var data: DataOptions

            func run() async throws {
                let store = try Store.open(data)
                if let username, try await store.users.find(username) == nil { throw CLIError("no user '\(username)'") }
                let now = Date()
                print(["id", "user", "name", "created", "expires", "last used"].joined(separator: "\t"))
                for token in try await store.tokens.list(username: username) {
                    let expires = token.expiresAt.map { EventExporter.timestamp($0) + (token.isExpired(at: now) ? " (expired)" : "") } ?? "never"
                    let fields = [
                        token.id, token.username, token.name, EventExporter.timestamp(token.createdAt), expires,
                        token.lastUsed.map(EventExporter.timestamp) ?? "never",
                    ]
                    print(fields.joined(separator: "\t"))
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke API tokens by id (from `list`), or all of a user's with --user.",
                discussion:
                    "A running server refuses the token at once (its workspace proxy within 5 s) and closes WebSockets opened with it at its next check (within 30 s); see docs/accounts.md."
            )
            @Argument(help: "Token ids.") var ids: [String] = []
            @Option(help: "Revoke every token of this user.") var user: String?
            @OptionGroup var data: DataOptions

            func validate() throws {
                guard !ids.isEmpty || user != nil else { throw ValidationError("name token ids to revoke, or --user NAME for all of a user's") }
            }

            func run() async throws {
                let store = try Store.open(data)
                if let user {
                    guard try await store.users.find(user) != nil else { throw CLIError("no user '\(user)'") }
                    let count = try await store.tokens.revokeAll(of: user, actor: "cli")
                    print("revoked \(count) token\(count == 1 ? "" : "s") of \(user)")
                }
                var unknown: [String] = []
                for id in ids {
                    if let token = try await store.tokens.revoke(id: id, actor: "cli") {
                        print("revoked \(token.id) (\(token.name)) of \(token.username)")
                    } else {
                        unknown.append(id)
                    }
                }
                guard unknown.isEmpty else { throw CLIError("no token \(unknown.joined(separator: ", ")) (see `ope user token list`)") }
            }
        }
    }
}

extension PlatformRole: ExpressibleByArgument {}
