import Foundation
import OPECore
import OPEStore
import Synchronization
import Testing

/// The store seen only as the gateway sees it, an ``AccountDirectory``: each answer is the
/// store's own, and revocations reach the directory's subscribers.
@Suite struct AccountDirectoryTests {
    /// Revocations heard on `directory`, in order.
    final class Heard: Sendable {
        let revocations = Mutex<[Revocation]>([])

        init(_ directory: any AccountDirectory) {
            directory.revocations.subscribe { [self] revocation in revocations.withLock { $0.append(revocation) } }
        }

        var all: [Revocation] { revocations.withLock { $0 } }
    }

    @Test func aSignInLivesAsLongAsTheStoreSaysAndEndingItIsHeard() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let directory: any AccountDirectory = test.store
        let heard = Heard(directory)
        try await directory.createUser(User(username: "alice", displayName: "Alice", role: .participant), password: "correct horse", actor: "test")
        #expect(try await directory.authenticate(username: "alice", password: "wrong horse") == nil)
        let user = try #require(try await directory.authenticate(username: "alice", password: "correct horse"))
        #expect(user.username == "alice" && user.displayName == "Alice")

        let signIn = try await directory.startSignIn(for: user, address: "127.0.0.1", via: "password")
        #expect(signIn.lifetime == test.store.signIns.absoluteTimeout, "the cookie lives as long as the sign-in can")
        let found = try #require(try await directory.findSignIn(token: signIn.token))
        #expect(found.user == user && found.csrfToken == signIn.csrfToken)
        let credential = Credential.signIn(username: "alice", cookieToken: signIn.token)
        #expect(try await directory.stillValid([credential], now: Date()) == [credential])

        try await directory.endSignIn(token: signIn.token, user: user, everywhere: false)
        #expect(try await directory.findSignIn(token: signIn.token) == nil)
        #expect(try await directory.stillValid([credential], now: Date()).isEmpty)
        #expect(heard.all == [Revocation(username: "alice", scope: .signIn(hash: SecretToken.hash(signIn.token)))])
    }

    @Test func tokensAndAccountChangesGoThroughTheDirectory() async throws {
        let test = try TestStore()
        defer { test.remove() }
        let directory: any AccountDirectory = test.store
        let heard = Heard(directory)
        let roster = try Roster(csv: "admin,Admin,admin\nbob,Bob,\n", file: "roster.csv")
        let imported = try await directory.importRoster(roster, actor: "test")
        #expect(imported.created.map(\.user.username) == ["admin", "bob"] && imported.existing.isEmpty)
        #expect(try await directory.listUsers().map(\.username) == ["admin", "bob"])
        let bob = try #require(try await directory.findUser("bob"))

        let now = Date()
        let issued = try await directory.createToken(for: bob, name: "script", lifetime: 3600, actor: "bob", now: now)
        #expect(try await directory.user(forToken: issued.secret, now: now) == bob)
        #expect(try await directory.user(forToken: issued.secret, now: now.addingTimeInterval(3601)) == nil, "expired at the time asked about")
        #expect(try await directory.findToken(id: issued.token.id)?.name == "script")
        #expect(try await directory.listTokens(of: "bob").map(\.id) == [issued.token.id])
        #expect(try await directory.listTokens(of: "admin").isEmpty)
        #expect(try await directory.revokeToken(id: issued.token.id, actor: "bob", now: now)?.id == issued.token.id)
        #expect(try await directory.user(forToken: issued.secret, now: now) == nil)
        _ = try await directory.createToken(for: bob, name: "another", lifetime: 3600, actor: "bob", now: now)
        #expect(try await directory.revokeAllTokens(of: "bob", actor: "bob", now: now) == 1)

        #expect(try await directory.updateUser("bob", role: .instructor, displayName: "Robert", actor: "admin").displayName == "Robert")
        try await directory.setPassword("bob", password: "a new password", actor: "admin")
        #expect(try await directory.authenticate(username: "bob", password: "a new password")?.role == .instructor)
        #expect(try await directory.setDisabled("bob", true, actor: "admin").disabled)
        await #expect(throws: UserStoreError.lastAdmin("admin")) { try await directory.setDisabled("admin", true, actor: "admin") }
        try await directory.recordSignInFailure(username: "nobody", address: nil)

        #expect(
            heard.all.map(\.scope) == [
                .token(hash: SecretToken.hash(issued.secret)), .allTokens, .allSignIns, .account,
            ])
    }
}
