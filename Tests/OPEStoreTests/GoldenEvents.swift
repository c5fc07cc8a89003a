import Foundation
import OPECore

/// A fixed day of a course in events: one of every kind the platform writes (and each kind's
/// variants), with the typed payloads their writers build, at fixed times. The golden files were
/// made from the dictionaries the writers built before payloads were typed, so the export test
/// checks that typing them changed nothing in the record.
enum GoldenEvents {
    /// 2026-11-27T09:00:00Z.
    static let start = Date(timeIntervalSince1970: 1_795_770_000)

    static func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    static let session = "s-7kq2mx9apr"
    static let groupSession = "s-h3vd8wz4ne"

    /// Every event type the platform defines.
    static let allTypes: [EventType] = [
        .userCreated, .userSignedIn, .userSignedOut, .userSignInFailed, .tokenCreated, .tokenRevoked, .userUpdated, .userDisabled, .userEnabled,
        .userPasswordReset, .lobbyJoined, .lobbyLeft, .lobbyGaveUp, .moduleMatchingChanged, .moduleGroupsUploaded, .sessionMemberJoined,
        .sessionMemberLeft, .presenceJoined, .presenceLeft, .sessionFormed, .sessionPhaseChanged, .roleChanged, .chatMessage, .botMessage, .botStep,
        .botCommand, .botRun, .botExternal, .botLog, .botChatLog, .botEnd, .botStopped, .botWarning, .experimentAssigned, .instructorHint,
        .externalBotUnavailable, .externalBotRecovered, .externalBotGaveUp, .testResult, .workspaceStarted, .workspaceStopped, .workspaceCrashed,
        .workspaceFailed, .workspaceLimit, .workspaceEdited, .modulesSynced, .workspaceExecuted, .workspaceKernel, .workspaceFile,
        .workspaceTerminal, .workspaceRefused, .workspaceSnapshot,
    ]

    static let drafts: [EventDraft] = accounts + lobby + session1 + bot + workspace + groups + activity

    /// Every payload type, for the round trip through the log.
    static let payloadTypes: [any EventPayload.Type] = [
        UserPayload.self, AccountPayload.self, SignedInPayload.self, SignInFailedPayload.self, SignedOutPayload.self, TokenCreatedPayload.self,
        TokenRevokedPayload.self, LobbyPayload.self, MatchingChangedPayload.self, GroupsUploadedPayload.self, ModulesSyncedPayload.self,
        SessionFormedPayload.self, ExperimentAssignedPayload.self, PhaseChangedPayload.self, RolesPayload.self, MemberJoinedPayload.self,
        MemberLeftPayload.self, ChatPayload.self, HintPayload.self, TestResultPayload.self, EditedPayload.self, BotStepPayload.self,
        BotMessagePayload.self, BotCommandPayload.self, BotRunPayload.self, BotExternalPayload.self, BotLogPayload.self, ChatLogPayload.self,
        BotWarningPayload.self, ExternalBotUnavailablePayload.self, ExternalBotRecoveredPayload.self, ExternalBotGaveUpPayload.self,
        WorkspaceStartedPayload.self, WorkspaceStoppedPayload.self, WorkspaceCrashedPayload.self, WorkspaceFailedPayload.self,
        WorkspaceLimitPayload.self, ExecutedPayload.self, KernelActionPayload.self, FileActionPayload.self, TerminalPayload.self,
        RefusedPayload.self, SnapshotPayload.self,
    ]

    /// The kinds that carry no payload at all.
    static let bareTypes: Set<EventType> = [.presenceJoined, .presenceLeft, .botEnd, .botStopped]

    /// UserStore, AuthSessionStore, PasswordSignIn, APITokenStore.
    static let accounts: [EventDraft] = [
        EventDraft(
            time: at(0), type: .userCreated, actor: "system",
            payload: UserPayload(username: "admin", displayName: "Administrator", role: .admin)
        ),
        EventDraft(
            time: at(1), type: .userCreated, actor: "admin",
            payload: UserPayload(username: "alice", displayName: "Alice Ämmälä", role: .participant)
        ),
        EventDraft(
            time: at(2), type: .userCreated, actor: "admin", payload: UserPayload(username: "bob", displayName: "Bob, \"the builder\"", role: .participant)),
        EventDraft(time: at(3), type: .userSignInFailed, payload: SignInFailedPayload(username: "alice", address: "192.0.2.7")),
        EventDraft(time: at(3.5), type: .userSignInFailed, payload: SignInFailedPayload(username: "mallory", address: nil)),
        EventDraft(time: at(4), type: .userSignedIn, actor: "alice", payload: SignedInPayload(method: "password", address: "192.0.2.7")),
        EventDraft(time: at(4.125), type: .userSignedIn, actor: "bob", payload: SignedInPayload(method: "password", address: nil)),
        EventDraft(
            time: at(5), type: .tokenCreated, actor: "admin",
            payload: TokenCreatedPayload(username: "admin", name: "grading script", id: "3fa91c0be2d4", expiresAt: "2026-12-27T09:00:05.000Z")
        ),
        EventDraft(time: at(6), type: .tokenRevoked, actor: "admin", payload: TokenRevokedPayload(username: "admin", id: "3fa91c0be2d4")),
        EventDraft(time: at(7), type: .userUpdated, actor: "admin", payload: UserPayload(username: "bob", displayName: "Bob B.", role: .instructor)),
        EventDraft(time: at(8), type: .userDisabled, actor: "admin", payload: AccountPayload(username: "mallory")),
        EventDraft(time: at(9), type: .userEnabled, actor: "admin", payload: AccountPayload(username: "mallory")),
        EventDraft(time: at(10), type: .userPasswordReset, actor: "admin", payload: AccountPayload(username: "mallory")),
        EventDraft(time: at(11), type: .userSignedOut, actor: "mallory", payload: SignedOutPayload(everywhere: false)),
        EventDraft(time: at(12), type: .userSignedOut, actor: "admin", payload: SignedOutPayload(everywhere: true)),
    ]

    /// SessionManager's lobby and ModulesController's sync.
    static let lobby: [EventDraft] = [
        EventDraft(
            time: at(20), type: .modulesSynced, actor: "admin",
            payload: ModulesSyncedPayload(
                modules: ["text-stats", "pair-sql"], problems: 1, repositories: [.init(name: "course", commit: "9c1e0f2"), .init(name: "drafts", commit: nil)]
            )
        ),
        EventDraft(time: at(21), type: .moduleMatchingChanged, actor: "bob", payload: MatchingChangedPayload(module: "text-stats", open: true, mode: .dynamic)),
        EventDraft(time: at(30), type: .lobbyJoined, actor: "alice", payload: LobbyPayload(module: "text-stats")),
        EventDraft(time: at(31), type: .lobbyJoined, actor: "carol", payload: LobbyPayload(module: "text-stats")),
        EventDraft(time: at(32), type: .lobbyLeft, actor: "carol", payload: LobbyPayload(module: "text-stats")),
        EventDraft(time: at(33), type: .lobbyJoined, actor: "dave", payload: LobbyPayload(module: "text-stats")),
        EventDraft(time: at(34), type: .lobbyJoined, actor: "erin", payload: LobbyPayload(module: "pair-sql")),
        EventDraft(time: at(334), type: .lobbyGaveUp, actor: "erin", payload: LobbyPayload(module: "pair-sql")),
    ]

    /// SessionManager's sessions, RoomController's chat, SessionsController's hints, TaskTestService, EditActivity.
    static let session1: [EventDraft] = [
        EventDraft(
            time: at(40), type: .sessionFormed, actor: "lobby", session: session,
            payload: SessionFormedPayload(
                module: "text-stats", members: ["alice", "dave"], roles: ["alice": "driver", "dave": "navigator"], roleOrder: ["driver", "navigator"],
                lateJoinRole: "navigator", rotationSeconds: 600, condition: "socratic"
            )
        ),
        EventDraft(
            time: at(40), type: .experimentAssigned, actor: "system", session: session,
            payload: ExperimentAssignedPayload(module: "text-stats", condition: "socratic", index: 0, seed: 20_261_127)
        ),
        EventDraft(time: at(40), type: .sessionPhaseChanged, actor: "system", session: session, payload: PhaseChangedPayload(phase: .starting)),
        EventDraft(time: at(41), type: .presenceJoined, actor: "alice", session: session),
        EventDraft(time: at(42), type: .presenceJoined, actor: "dave", session: session),
        EventDraft(
            time: at(50), type: .chatMessage, actor: "alice", session: session,
            payload: ChatPayload(text: "hi, \"team\" — let's start\nsecond line with a / slash and a tab\t", clientId: "c-1f9e")
        ),
        EventDraft(time: at(51), type: .chatMessage, actor: "dave", session: session, payload: ChatPayload(text: "👋 ok", clientId: "c-77")),
        EventDraft(time: at(60), type: .instructorHint, actor: "bob", session: session, payload: HintPayload(text: "Look at `str.split` first.")),
        EventDraft(time: at(120), type: .workspaceEdited, actor: "alice", session: session, payload: EditedPayload(updates: 37)),
        EventDraft(
            time: at(130), type: .testResult, actor: "dave", session: session,
            payload: TestResultPayload(
                task: "text-stats", passed: false, timedOut: false, exitStatus: 1, durationMs: 2315,
                output: "F.\nFAILED tests/test_stats.py::test_words - AssertionError: assert 3 == 2\n1 failed, 1 passed in 0.12s\n",
                cases: [.init(name: "test_words", outcome: .failed, message: "AssertionError: assert 3 == 2"), .init(name: "test_lines", outcome: .passed)]
            )
        ),
        EventDraft(
            time: at(140), type: .testResult, actor: "dave", session: session,
            payload: TestResultPayload(
                task: "text-stats", passed: false, timedOut: true, exitStatus: -9, durationMs: 30004,
                output: "\n[OPE] the tests did not finish within 30 s and were stopped.", cases: []
            )
        ),
        EventDraft(
            time: at(640), type: .roleChanged, actor: "system", session: session,
            payload: RolesPayload(roles: ["alice": "navigator", "dave": "driver"], reason: "rotate", rotation: 1)
        ),
        EventDraft(time: at(650), type: .sessionMemberJoined, actor: "lobby", session: session, payload: MemberJoinedPayload(user: "carol", role: "navigator")),
        EventDraft(time: at(660), type: .presenceLeft, actor: "dave", session: session),
        EventDraft(
            time: at(700), type: .sessionMemberLeft, actor: "dave", session: session, payload: MemberLeftPayload(user: "dave", remaining: ["alice", "carol"])),
        EventDraft(
            time: at(700), type: .roleChanged, actor: "dave", session: session,
            payload: RolesPayload(roles: ["alice": "driver", "carol": "navigator"], reason: "member_left", rotation: 1)
        ),
    ]

    /// BotService (plan bots) and ExternalBotService.
    static let bot: [EventDraft] = [
        EventDraft(time: at(43), type: .botStep, actor: "bot", session: session, payload: BotStepPayload.launched(plan: "socratic-tutor")),
        EventDraft(time: at(43), type: .botStep, actor: "bot", session: session, payload: BotStepPayload.stage("warm-up")),
        EventDraft(time: at(43), type: .botStep, actor: "bot", session: session, payload: BotStepPayload.step(stage: "warm-up", step: "greet")),
        EventDraft(
            time: at(44), type: .botMessage, actor: "bot", session: session,
            payload: BotMessagePayload(text: "Welcome! Start with **Run tests** on *text-stats*.", name: "Tutor", prompt: "GREETING")
        ),
        EventDraft(time: at(45), type: .botCommand, actor: "bot", session: session, payload: BotCommandPayload(command: "task text-stats")),
        EventDraft(
            time: at(46), type: .botRun, actor: "bot", session: session,
            payload: BotRunPayload(command: "python -m pytest -q", status: 0, timedOut: false, output: "2 passed in 0.05s\n")
        ),
        EventDraft(time: at(47), type: .botRun, actor: "bot", session: session, payload: BotRunPayload(command: "ls", error: "the session has no workspace")),
        EventDraft(
            time: at(48), type: .botExternal, actor: "bot", session: session,
            payload: BotExternalPayload(message: "event=started", url: "https://bazaar.example.org/hook?session_id=s-7kq2mx9apr&event=started")
        ),
        EventDraft(time: at(48.5), type: .botExternal, actor: "bot", session: session, payload: BotExternalPayload(message: "event=quiet", url: nil)),
        EventDraft(time: at(49), type: .botLog, actor: "bot", session: session, payload: BotLogPayload(tag: "phase", details: "warm-up done")),
        EventDraft(
            time: at(52), type: .botMessage, actor: "external-bot", session: session,
            payload: BotMessagePayload(text: "echo: hi, \"team\"", name: "Helper", replyTo: 23)
        ),
        EventDraft(
            time: at(52), type: .botCommand, actor: "external-bot", session: session, payload: BotCommandPayload(command: "task text-stats", replyTo: 23)),
        EventDraft(
            time: at(53), type: .externalBotUnavailable, actor: "external-bot", session: session,
            payload: ExternalBotUnavailablePayload(bot: "Helper", error: "the endpoint answered 503", waiting: 2)
        ),
        EventDraft(time: at(54), type: .externalBotRecovered, actor: "external-bot", session: session, payload: ExternalBotRecoveredPayload(bot: "Helper")),
        EventDraft(
            time: at(55), type: .externalBotGaveUp, actor: "external-bot", session: session,
            payload: ExternalBotGaveUpPayload(bot: "Helper", event: 24, reason: "the reply is not a JSON object", attempts: 5)
        ),
        EventDraft(
            time: at(56), type: .botWarning, actor: "bot", session: session,
            payload: BotWarningPayload(message: "role 'scribe' is not one of the module's roles")),
        EventDraft(time: at(900), type: .botChatLog, actor: "bot", session: session, payload: ChatLogPayload(messages: 4, file: "chat-log.txt")),
        EventDraft(time: at(900.5), type: .botChatLog, actor: "bot", session: session, payload: ChatLogPayload(messages: 0, file: nil)),
        EventDraft(time: at(901), type: .botStep, actor: "bot", session: session, payload: BotStepPayload.finished),
        EventDraft(time: at(901), type: .botEnd, actor: "bot", session: session),
        EventDraft(time: at(901), type: .botStopped, actor: "bot", session: session),
        EventDraft(time: at(901), type: .sessionPhaseChanged, actor: "bot", session: session, payload: PhaseChangedPayload(phase: .completed)),
    ]

    /// WorkspaceService (the workspace's start, limits, crashes and end).
    static let workspace: [EventDraft] = [
        EventDraft(
            time: at(40.75), type: .workspaceStarted, actor: "system", session: session,
            payload: WorkspaceStartedPayload(path: "/w/s-7kq2mx9apr/", startMs: 734.512345, attempt: 1, restart: false)
        ),
        EventDraft(time: at(40.75), type: .sessionPhaseChanged, actor: "system", session: session, payload: PhaseChangedPayload(phase: .active)),
        EventDraft(
            time: at(200), type: .workspaceLimit, actor: "system", session: session,
            payload: WorkspaceLimitPayload(limit: "memory", message: "the kernel was stopped: memory limit 512 MiB reached")
        ),
        EventDraft(
            time: at(300), type: .workspaceCrashed, actor: "system", session: session,
            payload: WorkspaceCrashedPayload(status: 137, log: "[I 09:05:00 ServerApp] Kernel died\nKilled", restarting: true)
        ),
        EventDraft(
            time: at(302), type: .workspaceStarted, actor: "system", session: session,
            payload: WorkspaceStartedPayload(path: "/w/s-7kq2mx9apr/", startMs: 1250, attempt: 2, restart: true)
        ),
        EventDraft(
            time: at(400), type: .workspaceFailed, actor: "system", session: session,
            payload: WorkspaceFailedPayload(error: "jupyter exited before it listened: broken install", attempts: 3)
        ),
        EventDraft(
            time: at(401), type: .workspaceFailed, actor: "system", session: session,
            payload: WorkspaceFailedPayload(error: "the workspace crashed 3 times; an instructor can restart it")
        ),
        EventDraft(
            time: at(800), type: .workspaceStopped, actor: "system", session: session, payload: WorkspaceStoppedPayload(reason: "idle", idleSeconds: 1800)),
        EventDraft(time: at(902), type: .workspaceStopped, actor: "system", session: session, payload: WorkspaceStoppedPayload(reason: "ended")),
    ]

    /// SessionManager's fixed groups: uploaded, a group's session formed, abandoned.
    static let groups: [EventDraft] = [
        EventDraft(
            time: at(1000), type: .moduleGroupsUploaded, actor: "bob",
            payload: GroupsUploadedPayload(module: "pair-sql", groups: ["g1": ["erin", "frank"], "g2": ["grace"]])
        ),
        EventDraft(time: at(1000), type: .moduleMatchingChanged, actor: "bob", payload: MatchingChangedPayload(module: "pair-sql", open: true, mode: .static)),
        EventDraft(
            time: at(1010), type: .sessionFormed, actor: "lobby", session: groupSession,
            payload: SessionFormedPayload(
                module: "pair-sql", members: ["erin"], roles: ["erin": "driver"], roleOrder: ["driver", "navigator"], lateJoinRole: "navigator", group: "g1"
            )
        ),
        EventDraft(
            time: at(1020), type: .sessionMemberJoined, actor: "lobby", session: groupSession, payload: MemberJoinedPayload(user: "frank", role: "navigator")),
        EventDraft(time: at(1020), type: .sessionPhaseChanged, actor: "system", session: groupSession, payload: PhaseChangedPayload(phase: .active)),
        EventDraft(time: at(5000), type: .sessionPhaseChanged, actor: "system", session: groupSession, payload: PhaseChangedPayload(phase: .abandoned)),
    ]

    /// The attributed record of the workspace (WorkspaceProxyController, FrameInspector).
    static let activity: [EventDraft] = [
        EventDraft(
            time: at(1000), type: .workspaceEdited, actor: "alice", session: session,
            payload: EditedPayload(updates: 14, document: "text_stats.ipynb", bytes: 1337, role: "driver")
        ),
        EventDraft(
            time: at(1001.5), type: .workspaceExecuted, actor: "alice", session: session,
            payload: ExecutedPayload(
                document: "text_stats.ipynb", cell: "c7f1", code: "print(word_count(\"a b\"))\n1/0", outcome: "error",
                errorName: "ZeroDivisionError", errorValue: "division by zero", output: "2\nZeroDivisionError: division by zero\n",
                executionCount: 3, durationMs: 41, kernel: "k-1", role: "driver")
        ),
        EventDraft(
            time: at(1002), type: .workspaceExecuted, actor: "bob", session: session,
            payload: ExecutedPayload(
                cell: "c7f1", code: "print('hi')", outcome: "refused", errorName: "ReadOnly",
                errorValue: "Alice Ämmälä is driving — roles rotate in 4 min", kernel: "k-1", role: "navigator")
        ),
        EventDraft(
            time: at(1003), type: .workspaceKernel, actor: "alice", session: session,
            payload: KernelActionPayload(action: "restarted", kernel: "k-1", role: "driver")
        ),
        EventDraft(
            time: at(1004), type: .workspaceFile, actor: "alice", session: session,
            payload: FileActionPayload(action: "renamed", path: "Untitled.ipynb", newPath: "notes, draft.ipynb", role: "driver")
        ),
        EventDraft(
            time: at(1005), type: .workspaceTerminal, actor: "alice", session: session,
            payload: TerminalPayload(action: "input", terminal: "1", inputs: 12, bytes: 40, role: "driver")
        ),
        EventDraft(
            time: at(1006), type: .workspaceRefused, actor: "bob", session: session,
            payload: RefusedPayload(what: "edit", reason: "Alice Ämmälä is driving", document: "text_stats.ipynb", count: 3, role: "navigator")
        ),
        EventDraft(
            time: at(1010), type: .workspaceSnapshot, actor: "system", session: session,
            payload: SnapshotPayload(
                document: "text_stats.ipynb",
                cells: [
                    .init(id: "m1", type: "markdown", source: "# Text statistics"),
                    .init(id: "c7f1", type: "code", source: "print(word_count(\"a b\"))", executionCount: 3, output: "2\n"),
                ], hash: "5d41402abc4b2a76b9719d911017c592")
        ),
    ]
}
