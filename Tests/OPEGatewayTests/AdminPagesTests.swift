import Foundation
import HTTPTypes
import HummingbirdTesting
import OPECore
import OPEGateway
import OPEStore
import Testing

/// The admin page (`/admin`) and the account page (`/account`): server-rendered forms with CSRF
/// tokens, refusals in words, secrets shown once.
@Suite struct AdminPagesTests {
    typealias Pages = WebPagesTests

    @Test func theAdminPageListsAccountsAndIsForAdminsOnly() async throws {
        try await TestGateway.run { client, store in
            _ = try await store.tokens.create(for: try #require(try await store.users.find("alice")), name: "alice's script", actor: "test")
            let root = try await Pages.signIn(client, "root")
            let page = try await Pages.get(client, "/admin", cookie: root.cookie)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            for user in ["alice", "bob", "carol", "teacher", "root"] { #expect(page.body.contains("data-user=\"\(user)\""), "\(user) is not listed") }
            #expect(page.body.contains("alice&#39;s script") || page.body.contains("alice's script"))
            #expect(page.body.contains("action=\"/admin/import\"") && page.body.contains("href=\"/admin\""))
            // Others are told the page is not for them, in a page.
            let teacher = try await Pages.signIn(client, "teacher")
            let refused = try await Pages.get(client, "/admin", cookie: teacher.cookie)
            #expect(refused.status == .forbidden && refused.body.contains("Admins only"))
            #expect(!refused.body.contains("href=\"/admin\""))
            #expect(try await Pages.get(client, "/admin").location == "/login?next=%2Fadmin")
        }
    }

    @Test func adminFormsCreateImportDisableAndRevokeAndSayWhatWentWrong() async throws {
        try await TestGateway.run { client, store in
            let root = try await Pages.signIn(client, "root")
            // Without the CSRF token nothing happens.
            let forged = try await Pages.post(client, "/admin/users", form: ["username": "mallory"], cookie: root.cookie)
            #expect(forged.status == .forbidden)
            #expect(try await store.users.find("mallory") == nil)

            let created = try await Pages.post(
                client, "/admin/users", form: ["_csrf": root.csrf, "username": "dana", "displayName": "Dana", "role": "instructor"], cookie: root.cookie)
            #expect(created.status == .ok && created.body.contains("Account dana created."))
            #expect(created.body.contains("id=\"new-passwords\""))
            #expect(try await store.users.find("dana")?.role == .instructor)
            let duplicate = try await Pages.post(client, "/admin/users", form: ["_csrf": root.csrf, "username": "dana"], cookie: root.cookie)
            #expect(
                duplicate.status == .conflict
                    && (duplicate.body.contains("user &#39;dana&#39; already exists") || duplicate.body.contains("user 'dana' already exists")))

            let imported = try await Pages.post(client, "/admin/import", form: ["_csrf": root.csrf, "csv": "ann,Ann\nalice,Alice\n"], cookie: root.cookie)
            #expect(imported.status == .ok && imported.body.contains("Imported 1 accounts.") && imported.body.contains("alice (line 2)"))
            let badImport = try await Pages.post(client, "/admin/import", form: ["_csrf": root.csrf, "csv": "ok-one\nNo Way\n"], cookie: root.cookie)
            #expect(badImport.status == .badRequest && badImport.body.contains("roster.csv:2"))

            let role = try await Pages.post(client, "/admin/users/ann/role", form: ["_csrf": root.csrf, "role": "instructor"], cookie: root.cookie)
            #expect(role.status == .ok && role.body.contains("ann is now instructor."))
            let lastAdmin = try await Pages.post(client, "/admin/users/root/role", form: ["_csrf": root.csrf, "role": "participant"], cookie: root.cookie)
            #expect(lastAdmin.status == .conflict && lastAdmin.body.contains("last admin"))

            let alice = try await Pages.signIn(client, "alice")
            let disabled = try await Pages.post(client, "/admin/users/alice/disable", form: ["_csrf": root.csrf], cookie: root.cookie)
            #expect(disabled.status == .ok && disabled.body.contains("alice is disabled"))
            #expect(try await Pages.get(client, "/", cookie: alice.cookie).location?.hasPrefix("/login") == true)
            let selfDisable = try await Pages.post(client, "/admin/users/root/disable", form: ["_csrf": root.csrf], cookie: root.cookie)
            #expect(selfDisable.status == .conflict)
            #expect(try await Pages.post(client, "/admin/users/alice/enable", form: ["_csrf": root.csrf], cookie: root.cookie).status == .ok)

            let reset = try await Pages.post(client, "/admin/users/bob/password", form: ["_csrf": root.csrf], cookie: root.cookie)
            #expect(reset.status == .ok && reset.body.contains("New password for bob"))

            let issued = try await store.tokens.create(for: try #require(try await store.users.find("bob")), name: "bob's", actor: "test")
            let revoked = try await Pages.post(client, "/admin/tokens/\(issued.token.id)/revoke", form: ["_csrf": root.csrf], cookie: root.cookie)
            #expect(revoked.status == .ok && revoked.body.contains("revoked"))
            #expect(try await store.tokens.user(for: issued.secret) == nil)
            #expect(try await Pages.post(client, "/admin/tokens/nope/revoke", form: ["_csrf": root.csrf], cookie: root.cookie).status == .notFound)
        }
    }

    @Test func theAccountPageMakesListsAndRevokesTokensAndSignsOutEverywhereWithThem() async throws {
        try await TestGateway.run { client, store in
            let alice = try await Pages.signIn(client, "alice")
            let empty = try await Pages.get(client, "/account", cookie: alice.cookie)
            #expect(empty.status == .ok && empty.body.contains("You have no API tokens."))
            let made = try await Pages.post(client, "/account/tokens", form: ["_csrf": alice.csrf, "name": "sync", "days": "30"], cookie: alice.cookie)
            #expect(made.status == .ok)
            let secret = try #require(made.body.range(of: "ope_[A-Za-z0-9_-]+", options: .regularExpression).map { String(made.body[$0]) })
            #expect(try await store.tokens.user(for: secret)?.username == "alice")
            // Shown once: the page shows it no more.
            let later = try await Pages.get(client, "/account", cookie: alice.cookie)
            #expect(!later.body.contains(secret) && later.body.contains("sync"))
            let badDays = try await Pages.post(client, "/account/tokens", form: ["_csrf": alice.csrf, "name": "x", "days": "999"], cookie: alice.cookie)
            #expect(badDays.status == .badRequest && badDays.body.contains("1 to 365 days"))

            // Someone else's token is not hers to revoke.
            let bobs = try await store.tokens.create(for: try #require(try await store.users.find("bob")), name: "bob's", actor: "test")
            let foreign = try await Pages.post(client, "/account/tokens/\(bobs.token.id)/revoke", form: ["_csrf": alice.csrf], cookie: alice.cookie)
            #expect(foreign.status == .notFound)
            #expect(try await store.tokens.user(for: bobs.secret) != nil)

            // Sign out everywhere, ticking "also revoke my API tokens".
            let signedOut = try await Pages.post(client, "/logout", form: ["_csrf": alice.csrf, "revokeTokens": "1"], cookie: alice.cookie)
            #expect(signedOut.status == .seeOther && signedOut.location == "/login?signedOut=1")
            #expect(try await store.tokens.user(for: secret) == nil)
            #expect(try await store.tokens.user(for: bobs.secret) != nil)
        }
    }
}
