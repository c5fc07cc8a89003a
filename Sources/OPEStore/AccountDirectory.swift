import Foundation
import OPECore

/// Who may use the platform and how they prove it: accounts, API tokens, browser sign-ins and
/// their revocations — everything the HTTP gateway asks to know who is calling and to manage
/// accounts, and nothing it does not ask.
///
/// ``Store`` answers it in-process (the all-in-one `ope serve`). An edge gateway will answer it
/// from a core over gRPC, so the protocol is shaped for that: every argument and result is a
/// `Sendable` value, each method can be one unary call, and every method is `async` — no caller
/// may count on an answer without a round trip.
///
/// Methods throw what the store throws (``UserStoreError``, ``UsernameError``), so the gateway's
/// refusals read the same whichever implementation answers; a remote one maps them back.
///
/// Revocations are the one stream. Subscribers (open room sockets, the workspace proxy's access
/// cache) listen on ``revocations``, a ``RevocationNotifier`` that lives in the caller's process
/// and calls handlers synchronously, so they can only signal. The in-process store publishes
/// into it as each change commits; a remote directory keeps its own notifier and publishes into
/// it what one server-streaming call delivers. A revocation missed while that stream reconnects
/// is not lost for long: the gateway's periodic ``stillValid(_:now:)`` check closes what it
/// should have closed.
public protocol AccountDirectory: Sendable {
    // MARK: Accounts

    /// The account named `username`, disabled or not.
    func findUser(_ username: String) async throws -> User?
    /// Every account, by username.
    func listUsers() async throws -> [User]
    /// The user if `password` is theirs and the account is not disabled; nil otherwise, taking as
    /// long for an unknown name as for a wrong password.
    func authenticate(username: String, password: String) async throws -> User?
    /// Creates an account; `actor` is who did it.
    ///
    /// - Throws: ``UserStoreError/exists(_:)``, ``UserStoreError/invalid(_:)``, ``UsernameError``.
    @discardableResult
    func createUser(_ user: User, password: String, actor: String) async throws -> User
    /// Changes an account's role and/or display name.
    ///
    /// - Throws: ``UserStoreError/notFound(_:)``, ``UserStoreError/invalid(_:)``, ``UserStoreError/lastAdmin(_:)``.
    func updateUser(_ username: String, role: PlatformRole?, displayName: String?, actor: String) async throws -> User
    /// Sets a new password; the account's browser sign-ins end (and are revoked), its API tokens stay.
    ///
    /// - Throws: ``UserStoreError/notFound(_:)``, ``UserStoreError/invalid(_:)``.
    func setPassword(_ username: String, password: String, actor: String) async throws
    /// Disables an account (its sign-ins and tokens stop working at once) or enables it again.
    ///
    /// - Throws: ``UserStoreError/notFound(_:)``, ``UserStoreError/lastAdmin(_:)``.
    func setDisabled(_ username: String, _ disabled: Bool, actor: String) async throws -> User
    /// Creates an account with a generated password for every entry whose username is free.
    func importRoster(_ roster: Roster, actor: String) async throws -> Roster.ImportResult

    // MARK: API tokens

    /// Creates a token for `user`; its secret is in the answer and nowhere else.
    ///
    /// - Throws: ``UserStoreError/invalid(_:)`` for an empty or long name or a lifetime out of range.
    func createToken(for user: User, name: String, lifetime: TimeInterval, actor: String, now: Date) async throws -> APIToken.Issued
    /// The token with public id `id`, if any.
    func findToken(id: String) async throws -> APIToken?
    /// The tokens of `username`, or of everyone when nil, newest first.
    func listTokens(of username: String?) async throws -> [APIToken]
    /// Revokes one token: it stops working at once, open connections included. Nil if there is no such token.
    @discardableResult
    func revokeToken(id: String, actor: String, now: Date) async throws -> APIToken?
    /// Revokes every token of `username`; returns how many.
    func revokeAllTokens(of username: String, actor: String, now: Date) async throws -> Int
    /// The user an API token's secret belongs to, or nil if it is unknown, revoked, expired at
    /// `now` or its account is disabled.
    func user(forToken secret: String, now: Date) async throws -> User?

    // MARK: Browser sign-ins

    /// Starts a sign-in for `user` (`method`: how they proved it, for the record).
    func startSignIn(for user: User, address: String?, via method: String) async throws -> SignIn.Issued
    /// The live sign-in for a cookie's token; nil if it is unknown, its account is disabled, or
    /// it passed its idle or absolute timeout (then it is gone for good). Finding it counts as
    /// use: its idle timer starts again.
    func findSignIn(token: String) async throws -> SignIn?
    /// Ends one sign-in or, with `everywhere`, every sign-in of `user`; both are revoked.
    func endSignIn(token: String, user: User, everywhere: Bool) async throws
    /// Records a failed password sign-in (the name as typed, and the address it came from).
    func recordSignInFailure(username: String, address: String?) async throws

    // MARK: Open connections

    /// Which of `credentials` still work at `now`, for connections that outlive their request.
    /// A sign-in's idle timeout is not checked: an open socket is use.
    func stillValid(_ credentials: Set<Credential>, now: Date) async throws -> Set<Credential>
    /// Where revocations are heard in this process (see the type's notes).
    var revocations: RevocationNotifier { get }
}
