import Foundation
import GRPCCore
import Logging
import OPECore
import OPEStore
import Synchronization

/// `ope.runtime.v1.Accounts` over the directory core's own ``AccountDirectory`` (its ``Store``):
/// what core 0 serves to the edges beside its runtime. Every method is the in-process call of the
/// same name; refusals cross the wire as themselves (``RuntimeWire/rpcError(_:)``).
struct AccountsGRPCService: Ope_Runtime_V1_Accounts.SimpleServiceProtocol {
    let accounts: any AccountDirectory
    let logger: Logger
    /// A revocation subscriber this many revocations behind is cut off; it subscribes again and
    /// forgets what it cached.
    static let subscriberBacklog = 1024
    /// The open revocation streams, ended together when the core shuts down.
    let subscribers = Subscribers<Revocation>()

    // MARK: Accounts

    func findUser(request: Ope_Runtime_V1_UsernameRequest, context: ServerContext) async throws -> Ope_Runtime_V1_FoundUser {
        try await answering { AccountsWire.found(try await accounts.findUser(request.username)) }
    }

    func listUsers(request: Ope_Runtime_V1_ListUsersRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Users {
        try await answering {
            var users = Ope_Runtime_V1_Users()
            users.users = try await accounts.listUsers().map(AccountsWire.message)
            return users
        }
    }

    func authenticate(request: Ope_Runtime_V1_AuthenticateRequest, context: ServerContext) async throws -> Ope_Runtime_V1_FoundUser {
        try await answering { AccountsWire.found(try await accounts.authenticate(username: request.username, password: request.password)) }
    }

    func createUser(request: Ope_Runtime_V1_CreateUserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_User {
        try await answering {
            let account = try user(request.user)
            return AccountsWire.message(try await accounts.createUser(account, password: request.password, actor: request.actor))
        }
    }

    func updateUser(request: Ope_Runtime_V1_UpdateUserRequest, context: ServerContext) async throws -> Ope_Runtime_V1_User {
        try await answering {
            let role = request.hasRole ? try known(role: request.role) : nil
            let user = try await accounts.updateUser(
                request.username, role: role, displayName: request.hasDisplayName ? request.displayName : nil, actor: request.actor)
            return AccountsWire.message(user)
        }
    }

    func setPassword(request: Ope_Runtime_V1_SetPasswordRequest, context: ServerContext) async throws -> Ope_Runtime_V1_AccountsEmpty {
        try await answering {
            try await accounts.setPassword(request.username, password: request.password, actor: request.actor)
            return Ope_Runtime_V1_AccountsEmpty()
        }
    }

    func setDisabled(request: Ope_Runtime_V1_SetDisabledRequest, context: ServerContext) async throws -> Ope_Runtime_V1_User {
        try await answering { AccountsWire.message(try await accounts.setDisabled(request.username, request.disabled, actor: request.actor)) }
    }

    func importRoster(request: Ope_Runtime_V1_ImportRosterRequest, context: ServerContext) async throws -> Ope_Runtime_V1_ImportRosterResult {
        try await answering {
            let entries = try request.entries.map { entry in
                Roster.Entry(line: Int(clamping: entry.line), username: entry.username, displayName: entry.displayName, role: try known(role: entry.role))
            }
            return AccountsWire.message(try await accounts.importRoster(Roster(entries: entries), actor: request.actor))
        }
    }

    // MARK: API tokens

    func createToken(request: Ope_Runtime_V1_CreateTokenRequest, context: ServerContext) async throws -> Ope_Runtime_V1_IssuedToken {
        try await answering {
            let issued = try await accounts.createToken(
                for: try user(request.user), name: request.name, lifetime: request.lifetime, actor: request.actor,
                now: Date(timeIntervalSince1970: request.now))
            var message = Ope_Runtime_V1_IssuedToken()
            message.secret = issued.secret
            message.token = AccountsWire.message(issued.token)
            return message
        }
    }

    func findToken(request: Ope_Runtime_V1_TokenIDRequest, context: ServerContext) async throws -> Ope_Runtime_V1_FoundToken {
        try await answering { AccountsWire.found(try await accounts.findToken(id: request.id)) }
    }

    func listTokens(request: Ope_Runtime_V1_ListTokensRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Tokens {
        try await answering {
            var tokens = Ope_Runtime_V1_Tokens()
            tokens.tokens = try await accounts.listTokens(of: request.hasUsername ? request.username : nil).map(AccountsWire.message)
            return tokens
        }
    }

    func revokeToken(request: Ope_Runtime_V1_RevokeTokenRequest, context: ServerContext) async throws -> Ope_Runtime_V1_FoundToken {
        try await answering {
            AccountsWire.found(try await accounts.revokeToken(id: request.id, actor: request.actor, now: Date(timeIntervalSince1970: request.now)))
        }
    }

    func revokeAllTokens(request: Ope_Runtime_V1_RevokeAllTokensRequest, context: ServerContext) async throws -> Ope_Runtime_V1_RevokedCount {
        try await answering {
            var count = Ope_Runtime_V1_RevokedCount()
            count.count = Int64(
                try await accounts.revokeAllTokens(of: request.username, actor: request.actor, now: Date(timeIntervalSince1970: request.now)))
            return count
        }
    }

    func userForToken(request: Ope_Runtime_V1_UserForTokenRequest, context: ServerContext) async throws -> Ope_Runtime_V1_FoundUser {
        try await answering { AccountsWire.found(try await accounts.user(forToken: request.secret, now: Date(timeIntervalSince1970: request.now))) }
    }

    // MARK: Browser sign-ins

    func startSignIn(request: Ope_Runtime_V1_StartSignInRequest, context: ServerContext) async throws -> Ope_Runtime_V1_IssuedSignIn {
        try await answering {
            let issued = try await accounts.startSignIn(
                for: try user(request.user), address: request.hasAddress ? request.address : nil, via: request.method)
            var message = Ope_Runtime_V1_IssuedSignIn()
            message.token = issued.token
            message.csrfToken = issued.csrfToken
            message.lifetime = issued.lifetime
            return message
        }
    }

    func findSignIn(request: Ope_Runtime_V1_FindSignInRequest, context: ServerContext) async throws -> Ope_Runtime_V1_FoundSignIn {
        try await answering { AccountsWire.found(try await accounts.findSignIn(token: request.token)) }
    }

    func endSignIn(request: Ope_Runtime_V1_EndSignInRequest, context: ServerContext) async throws -> Ope_Runtime_V1_AccountsEmpty {
        try await answering {
            try await accounts.endSignIn(token: request.token, user: try user(request.user), everywhere: request.everywhere)
            return Ope_Runtime_V1_AccountsEmpty()
        }
    }

    func recordSignInFailure(request: Ope_Runtime_V1_SignInFailureRequest, context: ServerContext) async throws -> Ope_Runtime_V1_AccountsEmpty {
        try await answering {
            try await accounts.recordSignInFailure(username: request.username, address: request.hasAddress ? request.address : nil)
            return Ope_Runtime_V1_AccountsEmpty()
        }
    }

    // MARK: Open connections

    func stillValid(request: Ope_Runtime_V1_StillValidRequest, context: ServerContext) async throws -> Ope_Runtime_V1_Credentials {
        try await answering {
            let asked = Set(request.credentials.compactMap(AccountsWire.credential))
            var valid = Ope_Runtime_V1_Credentials()
            valid.credentials = try await accounts.stillValid(asked, now: Date(timeIntervalSince1970: request.now)).map(AccountsWire.message)
            return valid
        }
    }

    func revocations(
        request: Ope_Runtime_V1_RevocationsRequest, response: RPCWriter<Ope_Runtime_V1_Revocation>, context: ServerContext
    ) async throws {
        // Subscribed before the opening message is written, so the caller misses nothing after it.
        let (stream, continuation) = AsyncStream<Revocation>.makeStream(bufferingPolicy: .bufferingOldest(Self.subscriberBacklog))
        let overflowed = Atomic(false)
        let registration = subscribers.add(continuation)
        defer { subscribers.remove(registration) }
        let subscription = accounts.revocations.subscribe { revocation in
            if case .dropped = continuation.yield(revocation) {
                overflowed.store(true, ordering: .relaxed)
                continuation.finish()
            }
        }
        defer { accounts.revocations.unsubscribe(subscription) }
        try await response.write(AccountsWire.opening)
        for await revocation in stream {
            try await response.write(AccountsWire.message(revocation))
        }
        if overflowed.load(ordering: .relaxed) {
            logger.notice("an edge fell too far behind the revocation stream; it subscribes again")
            throw RPCError(code: .resourceExhausted, message: "too far behind: subscribe again")
        }
    }

    // MARK: Helpers

    /// An account an edge sent (whom a sign-in or a token is for).
    private func user(_ message: Ope_Runtime_V1_User) throws -> User {
        User(
            username: message.username, displayName: message.displayName, role: try known(role: message.role),
            createdAt: Date(timeIntervalSince1970: message.createdAt), disabled: message.disabled
        )
    }

    /// A role an edge sent, where an unknown one is the request's fault.
    private func known(role name: String) throws -> PlatformRole {
        guard let role = PlatformRole(rawValue: name) else { throw UserStoreError.invalid("unknown role '\(name)'") }
        return role
    }

    /// Runs a method, turning the directory's refusals into statuses the edge turns back.
    private func answering<Answer>(_ body: () async throws -> Answer) async throws -> Answer {
        do {
            return try await body()
        } catch {
            if RuntimeWire.Refusal(error) == nil, !(error is RPCError) {
                logger.error("an account directory call failed", metadata: ["error": "\(error)"])
            }
            throw RuntimeWire.rpcError(error)
        }
    }
}
