import Foundation
import HTTPTypes
import HummingbirdTesting
import OPECore
import OPEGateway
import OPERuntime
import OPEStore
import OPETestSupport
import Testing

/// The lobby and session pages at their edges: the wait limit, giving up, starting alone, joining
/// another exercise from a team, and leaving a team (what `WebPagesTests` does for the rest).
@Suite struct LobbyPagesTests {
    typealias Pages = WebPagesTests

    @Test func theLobbyPageSaysTheWaitLimitAndAfterGivingUpOffersToJoinAgain() async throws {
        let clock = ManualClock()
        try await TestGateway.runWithGateway(clock: clock) { client, _, gateway in
            let carol = try await Pages.signIn(client, "carol")
            let joined = try await Pages.post(client, "/join", form: ["_csrf": carol.csrf, "module": "sql-joins"], cookie: carol.cookie)
            #expect(joined.location == "/lobby")
            let waiting = try await Pages.get(client, "/lobby", cookie: carol.cookie)
            #expect(waiting.body.contains("You can wait up to 5 minutes. If no team has formed by then, you leave the queue and can join again."))
            #expect(waiting.body.contains("Time left: <strong id=\"time-left\">5 minutes</strong>"), "\(waiting.body)")
            #expect(waiting.body.contains("A team starts as soon as 2 people are waiting"))
            #expect(waiting.body.contains("<div id=\"lobby-waiting\">") && waiting.body.contains("<div id=\"lobby-gave-up\" hidden>"))

            clock.advance(by: .seconds(300))
            try await gateway.runtime.tick()
            let gaveUp = try await Pages.get(client, "/lobby", cookie: carol.cookie)
            #expect(gaveUp.status == .ok)
            #expect(gaveUp.body.contains("<title>No team this time · OPE</title>"))
            #expect(gaveUp.body.contains("<div id=\"lobby-waiting\" hidden>"), "no more 'Waiting for your team' or 'Leave the queue'")
            #expect(gaveUp.body.contains("<div id=\"lobby-gave-up\">"))
            #expect(gaveUp.body.contains("Nobody else joined in time, so you left the queue."))
            #expect(gaveUp.body.contains("name=\"module\" value=\"sql-joins\"") && gaveUp.body.contains("id=\"join-again\""))
            #expect(gaveUp.body.contains("href=\"/\" id=\"back-to-exercises\""))
            // Join again puts them back in the queue.
            let again = try await Pages.post(client, "/join", form: ["_csrf": carol.csrf, "module": "sql-joins"], cookie: carol.cookie)
            #expect(again.location == "/lobby")
            #expect(try await Pages.get(client, "/lobby", cookie: carol.cookie).body.contains("Waiting for your team"))
        }
    }

    @Test func someoneAloneIsToldOnTheSessionPageUntilSomeoneJoins() async throws {
        let clock = ManualClock()
        try await TestGateway.runWithGateway(clock: clock) { client, _, gateway in
            let alice = try await Pages.signIn(client, "alice")
            _ = try await Pages.post(client, "/join", form: ["_csrf": alice.csrf, "module": "python-intro"], cookie: alice.cookie)
            let lobby = try await Pages.get(client, "/lobby", cookie: alice.cookie)
            #expect(lobby.body.contains("If nobody else is waiting after 5 seconds, you start on your own"))
            clock.advance(by: .seconds(6))
            try await gateway.runtime.tick()
            let toSession = try await Pages.get(client, "/lobby", cookie: alice.cookie)
            let path = try #require(toSession.location)
            let page = try await Pages.get(client, path, cookie: alice.cookie)
            #expect(page.body.contains("id=\"alone-notice\""))
            #expect(page.body.contains("Nobody else was waiting, so you are working on your own for now."))

            let bob = try await Pages.signIn(client, "bob")
            let late = try await Pages.post(client, "/join", form: ["_csrf": bob.csrf, "module": "python-intro"], cookie: bob.cookie)
            #expect(late.location == path, "bob joins alice's young session")
            #expect(!(try await Pages.get(client, path, cookie: alice.cookie).body.contains("alone-notice")))
        }
    }

    @Test func joiningAnotherExerciseFromATeamAsksFirstAndLeavingIsAFormWithAConfirmation() async throws {
        try await TestGateway.run { client, store in
            let alice = try await Pages.signIn(client, "alice")
            let bob = try await Pages.signIn(client, "bob")
            _ = try await Pages.post(client, "/join", form: ["_csrf": alice.csrf, "module": "python-intro"], cookie: alice.cookie)
            let matched = try await Pages.post(client, "/join", form: ["_csrf": bob.csrf, "module": "python-intro"], cookie: bob.cookie)
            let path = try #require(matched.location)
            let session = String(path.dropFirst("/sessions/".count))

            // Join on the same exercise is the way back; on another one, a choice.
            let same = try await Pages.post(client, "/join", form: ["_csrf": alice.csrf, "module": "python-intro"], cookie: alice.cookie)
            #expect(same.location == path)
            let choice = try await Pages.post(client, "/join", form: ["_csrf": alice.csrf, "module": "sql-joins"], cookie: alice.cookie)
            #expect(choice.status == .conflict)
            #expect(choice.body.contains("You are in a team"))
            #expect(choice.body.contains("href=\"/sessions/\(session)\" id=\"stay\""))
            #expect(choice.body.contains("name=\"leaveSession\" value=\"\(session)\""))
            #expect(choice.body.contains("Leave my team and join SQL"), "names the other exercise")
            #expect(try await store.reader.events(EventFilter(session: session, types: [.sessionMemberLeft])).isEmpty, "asking is not leaving")

            // The session page has the leave button, which asks before it leaves.
            let page = try await Pages.get(client, path, cookie: bob.cookie)
            #expect(page.body.contains("action=\"/sessions/\(session)/leave\""))
            #expect(page.body.contains("data-confirm=\"Leave this team for good?"))
            let script = try await Pages.get(client, "/static/common.js")
            #expect(script.body.contains("form.dataset.confirm"))

            let left = try await Pages.post(client, "/sessions/\(session)/leave", form: ["_csrf": bob.csrf], cookie: bob.cookie)
            #expect(left.location == "/?left=python-intro")
            let home = try await Pages.get(client, try #require(left.location), cookie: bob.cookie)
            #expect(home.body.contains("You left your team for Python warm-up: working with text. Your team was told and works on without you."))
            #expect(!home.body.contains("back to your session"))
            let partners = try await Pages.get(client, path, cookie: alice.cookie)
            #expect(!partners.body.contains("data-user=\"bob\""), "bob is off the team list")
            #expect(try await Pages.get(client, path, cookie: bob.cookie).status == .forbidden)

            // Leaving by choosing another exercise.
            let moved = try await Pages.post(
                client, "/join", form: ["_csrf": alice.csrf, "module": "sql-joins", "leaveSession": session], cookie: alice.cookie)
            #expect(moved.location == "/lobby")
            #expect(try await Pages.get(client, "/lobby", cookie: alice.cookie).body.contains("SQL"))
        }
    }

    @Test func theDashboardPutsLiveTeamsFirstWithTheirTask() async throws {
        try await TestGateway.run { client, store in
            let (_, _, session) = try await client.pair()
            let teacher = try await Pages.signIn(client, "teacher")
            let page = try await Pages.get(client, "/instructor", cookie: teacher.cookie).body
            let teams = try #require(page.range(of: "Live teams")?.lowerBound)
            let queue = try #require(page.range(of: "Waiting in the lobby")?.lowerBound)
            let modules = try #require(page.range(of: "<h2>Modules</h2>")?.lowerBound)
            #expect(teams < queue && queue < modules, "live teams come first")
            #expect(page.contains("id=\"hint-all-status\" class=\"hint-status\" role=\"status\""))

            let api = try await client.login("teacher")
            func task() async throws -> [String: Any]? {
                let teams = try await client.get("/api/sessions", headers: api.headers).jsonArray()
                return (teams.first { $0["id"] as? String == session }?["activity"] as? [String: Any])?["currentTask"] as? [String: Any]
            }
            #expect(try await task()?["title"] as? String == "Text statistics", "the first task before anything happened")
            _ = try await store.events.append(EventDraft(type: .botCommand, actor: "bot", session: session, payload: ["command": "task run-length"]))
            #expect(try await task()?["id"] as? String == "run-length")
            _ = try await store.events.append(
                EventDraft(type: .testResult, actor: "alice", session: session, payload: ["task": "text-stats", "passed": false]))
            #expect(try await task()?["title"] as? String == "Text statistics", "the team went back to test the first task")
        }
    }
}
