import Foundation
import OPECore
import OPEStore
import Testing

@testable import OPEGateway

/// Pins the JSON text of every message a room sends (docs/protocol.md), as the pages'
/// scripts read it: a change of a key or a value's form shows up here before it reaches a browser.
@Suite struct RoomMessageWireTests {
    /// 2026-11-27T09:00:00Z.
    static let time = Date(timeIntervalSince1970: 1_795_770_000)

    static func event(_ type: EventType, actor: String? = "alice", payload: [String: JSONValue] = [:]) -> Event {
        EventDraft(time: time, type: type, actor: actor, session: "s-1", payload: payload).committed(id: 42)
    }

    @Test(arguments: [
        (
            event(.chatMessage, payload: ["text": "hi \"team\" <b>", "clientId": "c-1"]),
            #"{"clientId":"c-1","from":"alice","id":42,"text":"hi \"team\" <b>","time":"2026-11-27T09:00:00.000Z","type":"chat"}"#
        ),
        (
            event(.botMessage, actor: "bot", payload: ["text": "Run **tests**", "prompt": "P", "name": "Tutor"]),
            #"{"from":"Tutor","html":"<p>Run <strong>tests</strong></p>","id":42,"text":"Run **tests**","time":"2026-11-27T09:00:00.000Z","type":"bot"}"#
        ),
        (
            event(.botMessage, actor: "bot", payload: ["text": "hi"]),
            #"{"from":"bot","html":"<p>hi</p>","id":42,"text":"hi","time":"2026-11-27T09:00:00.000Z","type":"bot"}"#
        ),
        (
            event(.instructorHint, actor: "teacher", payload: ["text": "look"]),
            #"{"from":"teacher","id":42,"text":"look","time":"2026-11-27T09:00:00.000Z","type":"hint"}"#
        ),
        (
            event(.botCommand, actor: "bot", payload: ["command": "task run-length"]),
            #"{"from":"bot","id":42,"text":"task run-length","time":"2026-11-27T09:00:00.000Z","type":"command"}"#
        ),
        (
            event(.roleChanged, actor: "system", payload: ["roles": ["alice": "driver", "bob": "navigator"], "reason": "rotate", "rotation": 1]),
            #"{"id":42,"reason":"rotate","roles":{"alice":"driver","bob":"navigator"},"time":"2026-11-27T09:00:00.000Z","type":"roles"}"#
        ),
        (
            event(.sessionPhaseChanged, actor: "system", payload: ["phase": "active"]),
            #"{"id":42,"phase":"active","time":"2026-11-27T09:00:00.000Z","type":"phase"}"#
        ),
        (
            event(
                .sessionFormed, actor: "lobby",
                payload: [
                    "module": "m", "members": ["alice", "bob"], "roles": ["alice": "driver", "bob": "navigator"], "roleOrder": ["driver", "navigator"],
                    "lateJoinRole": "navigator",
                ]
            ),
            #"{"id":42,"members":["alice","bob"],"roles":{"alice":"driver","bob":"navigator"},"time":"2026-11-27T09:00:00.000Z","type":"formed"}"#
        ),
        (
            event(.sessionMemberJoined, actor: "lobby", payload: ["user": "carol", "role": "navigator"]),
            #"{"id":42,"role":"navigator","time":"2026-11-27T09:00:00.000Z","type":"member","user":"carol"}"#
        ),
        (
            event(.sessionMemberLeft, actor: "bob", payload: ["user": "bob", "remaining": ["alice"]]),
            #"{"id":42,"members":["alice"],"time":"2026-11-27T09:00:00.000Z","type":"left","user":"bob"}"#
        ),
        (event(.presenceJoined), #"{"id":42,"state":"join","time":"2026-11-27T09:00:00.000Z","type":"presence","user":"alice"}"#),
        (event(.presenceLeft), #"{"id":42,"state":"leave","time":"2026-11-27T09:00:00.000Z","type":"presence","user":"alice"}"#),
        (
            event(
                .testResult,
                payload: [
                    "task": "t", "passed": false, "timedOut": false, "exitStatus": 1, "durationMs": 12, "output": "F\n",
                    "cases": [["name": "test_a", "outcome": "failed", "message": "assert 1 == 2"], ["name": "test_b", "outcome": "passed"]],
                ]
            ),
            #"{"cases":[{"message":"assert 1 == 2","name":"test_a","outcome":"failed"},{"name":"test_b","outcome":"passed"}],"id":42,"passed":false,"task":"t","text":"F\n","time":"2026-11-27T09:00:00.000Z","type":"test"}"#
        ),
        (event(.testResult, payload: ["task": "t", "passed": true]), #"{"id":42,"passed":true,"task":"t","time":"2026-11-27T09:00:00.000Z","type":"test"}"#),
        (
            event(.workspaceStarted, actor: "system", payload: ["path": "/w/s-1/", "startMs": 12.5, "attempt": 1, "restart": false]),
            #"{"id":42,"message":"/w/s-1/","state":"started","time":"2026-11-27T09:00:00.000Z","type":"workspace"}"#
        ),
        (
            event(.workspaceStopped, actor: "system", payload: ["reason": "idle", "idleSeconds": 1800]),
            #"{"id":42,"reason":"idle","state":"stopped","time":"2026-11-27T09:00:00.000Z","type":"workspace"}"#
        ),
        (
            event(.workspaceCrashed, actor: "system", payload: ["status": 137, "log": "Killed", "restarting": true]),
            #"{"id":42,"reason":"Killed","state":"crashed","time":"2026-11-27T09:00:00.000Z","type":"workspace"}"#
        ),
        (
            event(.workspaceFailed, actor: "system", payload: ["error": "broken install", "attempts": 3]),
            #"{"id":42,"reason":"broken install","state":"failed","time":"2026-11-27T09:00:00.000Z","type":"workspace"}"#
        ),
        (
            event(.workspaceLimit, actor: "system", payload: ["limit": "memory", "message": "memory limit 512 MiB reached"]),
            #"{"id":42,"reason":"memory limit 512 MiB reached","state":"limit","time":"2026-11-27T09:00:00.000Z","type":"workspace"}"#
        ),
        (
            event(.botStep, actor: "bot", payload: ["kind": "stage", "stage": "warm-up"]),
            #"{"event":{"actor":"bot","id":42,"payload":{"kind":"stage","stage":"warm-up"},"session":"s-1","time":"2026-11-27T09:00:00.000Z","type":"bot.step"},"id":42,"time":"2026-11-27T09:00:00.000Z","type":"event"}"#
        ),
        (
            event(.botEnd, actor: nil),
            #"{"event":{"id":42,"payload":{},"session":"s-1","time":"2026-11-27T09:00:00.000Z","type":"bot.end"},"id":42,"time":"2026-11-27T09:00:00.000Z","type":"event"}"#
        ),
    ])
    func eventMessages(_ event: Event, _ json: String) {
        #expect(RoomMessage(event).json() == json)
    }

    @Test func anEventWhosePayloadDoesNotReadGoesOutWhole() {
        #expect(
            RoomMessage(Self.event(.chatMessage, payload: ["index": 3])).json()
                == #"{"event":{"actor":"alice","id":42,"payload":{"index":3},"session":"s-1","time":"2026-11-27T09:00:00.000Z","type":"chat.message"},"#
                + #""id":42,"time":"2026-11-27T09:00:00.000Z","type":"event"}"#
        )
    }

    @Test func otherMessages() {
        let welcome = RoomMessage.welcome(
            session: "s-1", user: "alice", members: ["alice", "bob"], roles: ["alice": "driver", "bob": "navigator"], phase: .active
        )
        #expect(
            welcome.json()
                == #"{"members":["alice","bob"],"phase":"active","roles":{"alice":"driver","bob":"navigator"},"session":"s-1","type":"welcome","user":"alice"}"#
        )
        #expect(RoomMessage.synced(lastID: 42).json() == #"{"id":42,"type":"synced"}"#)
        #expect(RoomMessage.ack(id: 42, clientId: "c-1").json() == #"{"clientId":"c-1","id":42,"type":"ack"}"#)
        #expect(RoomMessage.typing(user: "alice", active: false).json() == #"{"active":false,"type":"typing","user":"alice"}"#)
        #expect(RoomMessage.heartbeat(time: Self.time).json() == #"{"time":"2026-11-27T09:00:00.000Z","type":"heartbeat"}"#)
        #expect(
            RoomMessage.error(code: "bad_message", message: "send JSON text frames").json()
                == #"{"code":"bad_message","message":"send JSON text frames","type":"error"}"#
        )
        #expect(
            RoomController.rateLimited(.milliseconds(1500)).json()
                == #"{"code":"rate_limited","message":"too many messages; slow down","retryAfterMs":1500,"type":"error"}"#
        )
        #expect(
            RoomMessage.signedOut(message: "You were signed out — sign in again.").json()
                == #"{"message":"You were signed out — sign in again.","type":"signed_out"}"#
        )
    }
}
