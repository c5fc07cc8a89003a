import Foundation
import GRPCCore
import OPECore
import OPEStore

/// Each ``AccountDirectory`` call as one call of `ope.runtime.v1.Accounts`; idempotent as
/// `accounts.proto` marks them.
extension RemoteAccounts {
    // MARK: Accounts

    public func findUser(_ username: String) async throws -> User? {
        var request = Ope_Runtime_V1_UsernameRequest()
        request.username = username
        return try AccountsWire.user(
            try await calls.call(idempotent: true) { [stub, calls] in try await stub.findUser(request, metadata: calls.metadata, options: $0) })
    }

    public func listUsers() async throws -> [User] {
        let answer = try await calls.call(idempotent: true) { [stub, calls] in
            try await stub.listUsers(Ope_Runtime_V1_ListUsersRequest(), metadata: calls.metadata, options: $0)
        }
        return try answer.users.map(AccountsWire.user)
    }

    public func authenticate(username: String, password: String) async throws -> User? {
        var request = Ope_Runtime_V1_AuthenticateRequest()
        request.username = username
        request.password = password
        return try AccountsWire.user(
            try await calls.call(idempotent: true) { [stub, calls] in try await stub.authenticate(request, metadata: calls.metadata, options: $0) })
    }

    @discardableResult
    public func createUser(_ user: User, password: String, actor: String) async throws -> User {
        var request = Ope_Runtime_V1_CreateUserRequest()
        request.user = AccountsWire.message(user)
        request.password = password
        request.actor = actor
        return try AccountsWire.user(
            try await calls.call(idempotent: false) { [stub, calls] in try await stub.createUser(request, metadata: calls.metadata, options: $0) })
    }

    public func updateUser(_ username: String, role: PlatformRole?, displayName: String?, actor: String) async throws -> User {
        var request = Ope_Runtime_V1_UpdateUserRequest()
        request.username = username
        if let role { request.role = role.rawValue }
        if let displayName { request.displayName = displayName }
        request.actor = actor
        let user = try AccountsWire.user(
            try await calls.call(idempotent: true) { [stub, calls] in try await stub.updateUser(request, metadata: calls.metadata, options: $0) })
        // Remembered sign-ins carry the account as it was (its role decides what pages allow).
        forget(Revocation(username: username, scope: .account))
        return user
    }

    public func setPassword(_ username: String, password: String, actor: String) async throws {
        var request = Ope_Runtime_V1_SetPasswordRequest()
        request.username = username
        request.password = password
        request.actor = actor
        _ = try await calls.call(idempotent: true) { [stub, calls] in try await stub.setPassword(request, metadata: calls.metadata, options: $0) }
        forget(Revocation(username: username, scope: .allSignIns))
    }

    public func setDisabled(_ username: String, _ disabled: Bool, actor: String) async throws -> User {
        var request = Ope_Runtime_V1_SetDisabledRequest()
        request.username = username
        request.disabled = disabled
        request.actor = actor
        let user = try AccountsWire.user(
            try await calls.call(idempotent: true) { [stub, calls] in try await stub.setDisabled(request, metadata: calls.metadata, options: $0) })
        forget(Revocation(username: username, scope: .account))
        return user
    }

    public func importRoster(_ roster: Roster, actor: String) async throws -> Roster.ImportResult {
        var request = Ope_Runtime_V1_ImportRosterRequest()
        request.entries = roster.entries.map(AccountsWire.message)
        request.actor = actor
        return try AccountsWire.result(
            try await calls.call(idempotent: false) { [stub, calls] in try await stub.importRoster(request, metadata: calls.metadata, options: $0) })
    }

    // MARK: API tokens

    public func createToken(for user: User, name: String, lifetime: TimeInterval, actor: String, now: Date) async throws -> APIToken.Issued {
        var request = Ope_Runtime_V1_CreateTokenRequest()
        request.user = AccountsWire.message(user)
        request.name = name
        request.lifetime = lifetime
        request.actor = actor
        request.now = now.timeIntervalSince1970
        let answer = try await calls.call(idempotent: false) { [stub, calls] in try await stub.createToken(request, metadata: calls.metadata, options: $0) }
        return APIToken.Issued(secret: answer.secret, token: AccountsWire.token(answer.token))
    }

    public func findToken(id: String) async throws -> APIToken? {
        var request = Ope_Runtime_V1_TokenIDRequest()
        request.id = id
        return AccountsWire.token(
            try await calls.call(idempotent: true) { [stub, calls] in try await stub.findToken(request, metadata: calls.metadata, options: $0) })
    }

    public func listTokens(of username: String?) async throws -> [APIToken] {
        var request = Ope_Runtime_V1_ListTokensRequest()
        if let username { request.username = username }
        let answer = try await calls.call(idempotent: true) { [stub, calls] in try await stub.listTokens(request, metadata: calls.metadata, options: $0) }
        return answer.tokens.map(AccountsWire.token)
    }

    @discardableResult
    public func revokeToken(id: String, actor: String, now: Date) async throws -> APIToken? {
        var request = Ope_Runtime_V1_RevokeTokenRequest()
        request.id = id
        request.actor = actor
        request.now = now.timeIntervalSince1970
        let revoked = AccountsWire.token(
            try await calls.call(idempotent: true) { [stub, calls] in try await stub.revokeToken(request, metadata: calls.metadata, options: $0) })
        // The cache knows tokens by their secret's hash, not their id: forget the owner's tokens.
        if let revoked { forget(Revocation(username: revoked.username, scope: .allTokens)) }
        return revoked
    }

    public func revokeAllTokens(of username: String, actor: String, now: Date) async throws -> Int {
        var request = Ope_Runtime_V1_RevokeAllTokensRequest()
        request.username = username
        request.actor = actor
        request.now = now.timeIntervalSince1970
        let answer = try await calls.call(idempotent: true) { [stub, calls] in
            try await stub.revokeAllTokens(request, metadata: calls.metadata, options: $0)
        }
        forget(Revocation(username: username, scope: .allTokens))
        return Int(clamping: answer.count)
    }

    /// The user of an API token, remembered for a few seconds (see the type's notes).
    public func user(forToken secret: String, now: Date) async throws -> User? {
        try await remembered(tokens, secret: secret, username: \.username) {
            var request = Ope_Runtime_V1_UserForTokenRequest()
            request.secret = secret
            request.now = now.timeIntervalSince1970
            return try AccountsWire.user(
                try await calls.call(idempotent: true) { [stub, calls, request] in
                    try await stub.userForToken(request, metadata: calls.metadata, options: $0)
                })
        }
    }

    // MARK: Browser sign-ins

    public func startSignIn(for user: User, address: String?, via method: String) async throws -> SignIn.Issued {
        var request = Ope_Runtime_V1_StartSignInRequest()
        request.user = AccountsWire.message(user)
        if let address { request.address = address }
        request.method = method
        let answer = try await calls.call(idempotent: false) { [stub, calls] in try await stub.startSignIn(request, metadata: calls.metadata, options: $0) }
        return SignIn.Issued(token: answer.token, csrfToken: answer.csrfToken, lifetime: answer.lifetime)
    }

    /// The sign-in of a cookie's token, remembered for a few seconds (see the type's notes).
    public func findSignIn(token: String) async throws -> SignIn? {
        try await remembered(signIns, secret: token, username: \.user.username) {
            var request = Ope_Runtime_V1_FindSignInRequest()
            request.token = token
            return try AccountsWire.signIn(
                try await calls.call(idempotent: true) { [stub, calls, request] in
                    try await stub.findSignIn(request, metadata: calls.metadata, options: $0)
                })
        }
    }

    public func endSignIn(token: String, user: User, everywhere: Bool) async throws {
        var request = Ope_Runtime_V1_EndSignInRequest()
        request.token = token
        request.user = AccountsWire.message(user)
        request.everywhere = everywhere
        _ = try await calls.call(idempotent: true) { [stub, calls] in try await stub.endSignIn(request, metadata: calls.metadata, options: $0) }
        forget(Revocation(username: user.username, scope: everywhere ? .allSignIns : .signIn(hash: SecretToken.hash(token))))
    }

    public func recordSignInFailure(username: String, address: String?) async throws {
        var request = Ope_Runtime_V1_SignInFailureRequest()
        request.username = username
        if let address { request.address = address }
        _ = try await calls.call(idempotent: false) { [stub, calls] in
            try await stub.recordSignInFailure(request, metadata: calls.metadata, options: $0)
        }
    }

    // MARK: Open connections

    public func stillValid(_ credentials: Set<Credential>, now: Date) async throws -> Set<Credential> {
        var request = Ope_Runtime_V1_StillValidRequest()
        request.credentials = credentials.map(AccountsWire.message)
        request.now = now.timeIntervalSince1970
        let answer = try await calls.call(idempotent: true) { [stub, calls] in try await stub.stillValid(request, metadata: calls.metadata, options: $0) }
        return Set(answer.credentials.compactMap(AccountsWire.credential))
    }
}
