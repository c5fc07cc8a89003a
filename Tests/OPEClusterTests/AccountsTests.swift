import Foundation
import OPECluster
import OPECore
import OPERuntime
import OPEStore
import OPETestSupport
import Synchronization
import Testing

/// Edges' account directories (``RemoteAccounts``) over the directory core (core 0) on loopback.
/// The cache's ages run on a ``ManualClock`` of the test's own, apart from the cores' clock.
@Suite struct AccountsTests {
    static let ann = User(username: "ann", displayName: "Ann", role: .participant)
    static let password = "correct horse battery"

    /// Runs `body` with `count` edges' directories over the cluster's directory core, each
    /// running as in an edge's service group.
    func withDirectories(
        _ testCluster: TestCluster, count: Int = 1, clock: ManualClock, _ body: ([RemoteAccounts]) async throws -> Void
    ) async throws {
        let directories = try (0..<count).map { _ in
            var configuration = RemoteAccounts.Configuration(
                host: "127.0.0.1", port: testCluster.core(0).port, token: TestCluster.token, deadline: .seconds(60))
            // A core that is down is noticed quickly (the retries are not what is tested here).
            configuration.retryWindow = .milliseconds(300)
            return try RemoteAccounts(configuration: configuration, clock: clock)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for directory in directories { group.addTask { try await directory.run() } }
            do {
                try await body(directories)
            } catch {
                for directory in directories { directory.beginGracefulShutdown() }
                throw error
            }
            for directory in directories { directory.beginGracefulShutdown() }
            try await group.waitForAll()
        }
    }

    @Test func aSignInThroughAnEdgeIsFoundAndAWrongPasswordIsNot() async throws {
        try await TestCluster.run(cores: 1) { testCluster, _ in
            try await withDirectories(testCluster, clock: ManualClock()) { directories in
                let accounts = directories[0]
                let created = try await accounts.createUser(Self.ann, password: Self.password, actor: "admin")
                #expect(created.username == "ann")
                #expect(try await accounts.findUser("ann")?.displayName == "Ann")
                #expect(try await accounts.authenticate(username: "ann", password: "wrong password") == nil)
                #expect(try await accounts.authenticate(username: "nobody", password: Self.password) == nil)
                let user = try #require(try await accounts.authenticate(username: "ann", password: Self.password))
                let issued = try await accounts.startSignIn(for: user, address: "127.0.0.1", via: "password")
                let signIn = try #require(try await accounts.findSignIn(token: issued.token))
                #expect(signIn.user.username == "ann")
                #expect(signIn.csrfToken == issued.csrfToken)
                #expect(try await accounts.findSignIn(token: "not-a-sign-in") == nil)
                // The directory core's own store holds it: the edge kept nothing but a cache.
                #expect(try await testCluster.core(0).runtime.store.findSignIn(token: issued.token)?.user.username == "ann")
                let token = try await accounts.createToken(for: user, name: "script", lifetime: 86400, actor: "ann", now: Date())
                #expect(try await accounts.user(forToken: token.secret, now: Date())?.username == "ann")
                #expect(try await accounts.listTokens(of: "ann").map(\.id) == [token.token.id])
                let valid = try await accounts.stillValid(
                    [.signIn(username: "ann", cookieToken: issued.token), .token(username: "ann", secret: "unknown")], now: Date())
                #expect(valid == [.signIn(username: "ann", cookieToken: issued.token)])
            }
        }
    }

    @Test func theDirectorysRefusalsComeBackAsTheErrorsItThrew() async throws {
        try await TestCluster.run(cores: 1) { testCluster, _ in
            try await withDirectories(testCluster, clock: ManualClock()) { directories in
                let accounts = directories[0]
                let store = testCluster.core(0).runtime.store
                try await accounts.createUser(Self.ann, password: Self.password, actor: "admin")
                // The same refusal the store gives in process, so the gateway answers the same 409.
                let inProcess = await #expect(throws: UserStoreError.self) { try await store.createUser(Self.ann, password: Self.password, actor: "admin") }
                let remote = await #expect(throws: UserStoreError.self) { try await accounts.createUser(Self.ann, password: Self.password, actor: "admin") }
                #expect(remote == inProcess)
                #expect(remote == .exists("ann"))
                await #expect(throws: UserStoreError.invalid("password must have at least 8 characters")) {
                    try await accounts.createUser(User(username: "bob", displayName: "Bob", role: .participant), password: "short", actor: "admin")
                }
                let badName = await #expect(throws: UsernameError.self) {
                    try await accounts.createUser(User(username: "Not OK", displayName: "x", role: .participant), password: Self.password, actor: "admin")
                }
                #expect(badName?.username == "Not OK")
                await #expect(throws: UserStoreError.notFound("nobody")) {
                    try await accounts.updateUser("nobody", role: .admin, displayName: nil, actor: "admin")
                }
                try await accounts.createUser(User(username: "root", displayName: "Root", role: .admin), password: Self.password, actor: "admin")
                await #expect(throws: UserStoreError.lastAdmin("root")) { try await accounts.setDisabled("root", true, actor: "admin") }
            }
        }
    }

    @Test func aSignOutEverywhereReachesEveryEdgeAndItsCachedSignInStopsWorking() async throws {
        try await TestCluster.run(cores: 1) { testCluster, _ in
            try await withDirectories(testCluster, count: 2, clock: ManualClock()) { directories in
                let (first, second) = (directories[0], directories[1])
                let heard = Mutex<[Revocation]>([])
                second.revocations.subscribe { revocation in heard.withLock { $0.append(revocation) } }
                try await waitUntil("both edges follow the directory's revocations") {
                    first.isFollowingRevocations && second.isFollowingRevocations
                }
                let user = try await first.createUser(Self.ann, password: Self.password, actor: "admin")
                let issued = try await first.startSignIn(for: user, address: nil, via: "password")
                // The second edge answers its next requests from what it remembers.
                #expect(try await second.findSignIn(token: issued.token)?.user.username == "ann")
                #expect(try await second.findSignIn(token: issued.token) != nil)

                try await first.endSignIn(token: issued.token, user: user, everywhere: true)
                try await waitUntil("the second edge hears the sign-out everywhere") {
                    heard.withLock { $0.contains(Revocation(username: "ann", scope: .allSignIns)) }
                }
                // Well within the cache's lifetime (its clock has not moved), it is not accepted.
                #expect(try await second.findSignIn(token: issued.token) == nil)
                #expect(try await first.findSignIn(token: issued.token) == nil)
            }
        }
    }

    @Test func aChangeNoRevocationAnnouncesTakesEffectWhenTheCachedAnswerExpires() async throws {
        try await TestCluster.run(cores: 1) { testCluster, _ in
            let clock = ManualClock()
            try await withDirectories(testCluster, clock: clock) { directories in
                let accounts = directories[0]
                let user = try await accounts.createUser(Self.ann, password: Self.password, actor: "admin")
                let issued = try await accounts.startSignIn(for: user, address: nil, via: "password")
                #expect(try await accounts.findSignIn(token: issued.token) != nil)
                // Another process on the directory core's data dir (an `ope user` command) ends
                // the sign-in: the core's notifier never hears of it, so no edge does either.
                let other = try Store(dataDirectory: testCluster.core(0).folder, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
                try await other.endSignIn(token: issued.token, user: user, everywhere: false)
                #expect(try await testCluster.core(0).runtime.store.findSignIn(token: issued.token) == nil)
                // The edge's remembered answer stands for the cache's lifetime, and no longer.
                #expect(try await accounts.findSignIn(token: issued.token) != nil)
                clock.advance(by: .seconds(5))
                #expect(try await accounts.findSignIn(token: issued.token) == nil)
            }
        }
    }

    @Test func whileTheDirectoryCoreIsDownRememberedAnswersWorkForAMinute() async throws {
        try await TestCluster.run(cores: 1) { testCluster, _ in
            let clock = ManualClock()
            try await withDirectories(testCluster, clock: clock) { directories in
                let accounts = directories[0]
                try await waitUntil("the edge follows the directory's revocations") { accounts.isFollowingRevocations }
                let user = try await accounts.createUser(Self.ann, password: Self.password, actor: "admin")
                let remembered = try await accounts.startSignIn(for: user, address: nil, via: "password")
                let unasked = try await accounts.startSignIn(for: user, address: nil, via: "password")
                let token = try await accounts.createToken(for: user, name: "script", lifetime: 86400, actor: "ann", now: Date())
                #expect(try await accounts.findSignIn(token: remembered.token) != nil)
                #expect(try await accounts.user(forToken: token.secret, now: Date()) != nil)

                await testCluster.core(0).stop()
                try await waitUntil("the edge notices the directory core is gone") { !accounts.isFollowingRevocations }
                // Past the cache's lifetime the directory is asked, cannot answer, and the
                // remembered answers stand in for it.
                clock.advance(by: .seconds(30))
                #expect(try await accounts.findSignIn(token: remembered.token)?.user.username == "ann")
                #expect(try await accounts.user(forToken: token.secret, now: Date())?.username == "ann")
                // What was never asked cannot be answered.
                let unknown = await #expect(throws: RuntimeError.self) { try await accounts.findSignIn(token: unasked.token) }
                #expect(unknown?.kind == .unavailable(retryAfterSeconds: 5))
                // A minute on, a remembered answer is too old to stand in.
                clock.advance(by: .seconds(31))
                let tooOld = await #expect(throws: RuntimeError.self) { try await accounts.findSignIn(token: remembered.token) }
                #expect(tooOld?.kind == .unavailable(retryAfterSeconds: 5))

                // The directory core back: the edge follows it again and asks it afresh.
                try await testCluster.restart(0)
                try await waitUntil("the edge follows the restarted directory core") { accounts.isFollowingRevocations }
                #expect(try await accounts.findSignIn(token: remembered.token)?.user.username == "ann")
                #expect(try await accounts.findSignIn(token: unasked.token)?.user.username == "ann")
            }
        }
    }
}
