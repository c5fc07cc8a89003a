import Foundation
import OPECore
import OPERuntime
import Testing

/// The dashboard's "stuck team" rule and current task, judged from events and a time, with no server.
@Suite struct TeamActivityTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let module = Module(
        id: "m", title: "M", kit: .python,
        tasks: [ModuleTask(id: "one", title: "First", instructions: ""), ModuleTask(id: "two", title: "Second", instructions: "")], folder: "/m"
    )

    func session() -> SessionStateMachine {
        var session = SessionStateMachine(
            id: "s", module: "m", members: ["a", "b"], roles: ["driver", "navigator"], lateJoinRole: "navigator", rotationInterval: nil,
            gracePeriod: .seconds(60), now: start
        )
        _ = session.advance(to: .active, now: start)
        return session
    }

    func event(_ id: Int64, _ type: EventType, at seconds: TimeInterval, _ payload: [String: JSONValue] = [:]) -> Event {
        Event(id: id, time: start.addingTimeInterval(seconds), type: type, actor: "a", session: "s", payload: payload)
    }

    func activity(_ recent: [Event], edit: Event? = nil, tasks: [Event] = [], at seconds: TimeInterval) -> TeamActivity {
        TeamActivity(session: session(), module: module, chatAndTests: recent, lastEdit: edit, taskEvents: tasks, now: start.addingTimeInterval(seconds))
    }

    @Test func aQuietTeamIsStuckOnlyAfterTenMinutesWithoutChatEditsOrTests() {
        #expect(activity([], at: 599).stuck == nil)
        #expect(activity([], at: 661).stuck == "no chat, editing or test runs for 11 minutes")
        // An edit counts as activity, and resets the count.
        let edited = activity([], edit: event(1, .workspaceEdited, at: 300), at: 661)
        #expect(edited.stuck == nil)
        #expect(edited.lastEdit == start.addingTimeInterval(300))
        #expect(edited.lastEditBy == "a")
    }

    @Test func threeFailedRunsInARowMakeATeamStuckAndAPassEndsTheRun() {
        let failed = (1...3).map { event(Int64($0), .testResult, at: 100 - Double($0), ["task": "one", "passed": .bool(false)]) }
        #expect(activity(failed, at: 120).stuck == "3 failed test runs in a row")
        let passedLast = [event(9, .testResult, at: 110, ["task": "one", "passed": .bool(true)])] + failed
        let answer = activity(passedLast, at: 120)
        #expect(answer.stuck == nil)
        #expect(answer.tests == ["one": true])
    }

    @Test func theCurrentTaskIsTheLatestOneTheBotOrATestRunNamed() {
        #expect(activity([], at: 10).currentTask?.id == "one")
        let moved = [event(2, .botCommand, at: 20, ["command": "task two"]), event(1, .testResult, at: 10, ["task": "one"])]
        #expect(activity([], tasks: moved, at: 30).currentTask == TeamActivity.TaskRef(id: "two", title: "Second"))
        // A task the module does not have is passed over.
        let unknown = [event(3, .botCommand, at: 40, ["command": "task nine"])] + moved
        #expect(activity([], tasks: unknown, at: 50).currentTask?.id == "two")
    }
}
