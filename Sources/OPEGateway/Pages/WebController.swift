import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import OPECore
import OPEModules
import OPERuntime
import OPEStore

/// The pages people use: sign-in, exercises, lobby, session, instructor dashboard and research
/// export. Server-rendered with Mustache (which escapes every value), with small scripts in
/// `Web/static` that talk to the JSON API and the team room.
///
/// Forms carry a CSRF token in a hidden `_csrf` field: the sign-in's token, or before
/// sign-in a ``LoginToken`` (signed, time-limited, bound to the address) that must also match the
/// `ope_login` cookie (double submit). The sign-in form also refuses another site's `Origin`.
struct WebController {
    let accounts: any AccountDirectory
    let runtime: any RuntimeAPI
    let passwords: PasswordSignIn
    let library: MustacheLibrary
    let markdown = MarkdownRenderer()
    /// Origins besides the request's own that may post forms (the public URL's).
    var allowedOrigins: Set<String> = []
    var loginTokens = LoginToken()
    var clock: any PlatformClock = SystemClock()
    /// The team rooms, to close a leaver's other windows' connections.
    var hub: RoomHub?
    static let loginCookie = "ope_login"

    /// The folder holding `templates/` and `static/`.
    static var resources: String { Bundle.module.bundlePath + "/Web" }

    static func loadLibrary() async throws -> MustacheLibrary {
        try await MustacheLibrary(directory: resources + "/templates")
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        let pages = router.group().add(middleware: AuthenticationMiddleware(accounts: accounts, clock: clock))
        pages.get("login", use: page(loginPage))
        pages.post("login", use: page(login))
        pages.post("logout", use: page(logout))
        pages.get("", use: page(home))
        pages.post("join", use: page(join))
        pages.get("lobby", use: page(lobby))
        pages.post("leave", use: page(leave))
        pages.post("sessions/:id/leave", use: page(leaveSession))
        pages.get("sessions/:id", use: page(session))
        pages.get("instructor", use: page(dashboard))
        pages.get("research", use: page(research))
        pages.get("research/sessions", use: page(replayLookup))
        pages.get("research/sessions/:id", use: page(replay))
        addAccountRoutes(to: pages)
        addAdminRoutes(to: pages)
    }

    /// A page stops early with a redirect or an error page: thrown by the checks, answered here.
    struct Stop: Error {
        let response: Response
    }

    func page(
        _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) -> @Sendable (Request, AppRequestContext) async throws -> Response {
        { request, context in
            do {
                return try await handler(request, context)
            } catch let stop as Stop {
                return stop.response
            }
        }
    }

    // MARK: Rendering

    func render(_ template: String, _ values: [String: Any], identity: Identity?, status: HTTPResponse.Status = .ok) -> Response {
        var context = values
        if let identity {
            context["username"] = identity.user.username
            context["displayName"] = identity.user.displayName
            context["isStaff"] = identity.user.role.isStaff
            context["isAdmin"] = identity.user.role == .admin
            context["csrf"] = identity.csrfToken ?? ""
        }
        let html = library.render(context, withTemplate: template) ?? "<!doctype html><title>OPE</title><p>Page template \(template) is missing.</p>"
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: .init(string: html)))
    }

    func message(_ heading: String, _ text: String, identity: Identity?, status: HTTPResponse.Status, link: (String, String) = ("/", "Back to the exercises"))
        -> Response
    {
        render("message", ["title": heading, "heading": heading, "message": text, "link": link.0, "linkText": link.1], identity: identity, status: status)
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// The signed-in user, or a redirect to the sign-in page that says why.
    func signedIn(_ request: Request, _ context: AppRequestContext) throws -> Identity {
        if let identity = context.identity { return identity }
        let next = "next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/")
        let expired = request.cookies[AuthenticationMiddleware.cookieName].map { !$0.value.isEmpty } ?? false
        throw Stop(response: Self.redirect("/login?" + (expired ? "expired=1&" : "") + next))
    }

    /// The signed-in user if they are staff, else a page that says the page is not for them.
    func staff(_ request: Request, _ context: AppRequestContext, heading: String, refusal: String) throws -> Identity {
        let identity = try signedIn(request, context)
        guard identity.user.role.isStaff else { throw Stop(response: message(heading, refusal, identity: identity, status: .forbidden)) }
        return identity
    }

    struct Form: Decodable {
        var _csrf: String?
        var username: String?
        var password: String?
        var next: String?
        var module: String?
        /// The session a participant confirmed leaving to join `module`.
        var leaveSession: String?
        /// Sign out everywhere: revoke the API tokens too (a checkbox).
        var revokeTokens: String?
    }

    func form(_ request: Request) async throws -> Form {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: buffer))
        } catch {
            throw APIError(.badRequest, "the form could not be read; reload the page and try again")
        }
    }

    /// A form from a signed-in user must carry their CSRF token.
    func checked(_ request: Request, _ context: AppRequestContext) async throws -> (Identity, Form) {
        guard let identity = context.identity else { throw Stop(response: Self.redirect("/login?expired=1")) }
        let form = try await form(request)
        guard let token = identity.csrfToken, let sent = form._csrf, CSRFMiddleware.constantTimeEqual(token, sent) else {
            throw Stop(
                response: message(
                    "Page out of date", "This page was opened before your last sign-in, so the action was not done. Reload the page and try again.",
                    identity: identity, status: .forbidden
                )
            )
        }
        return (identity, form)
    }

    // MARK: Sign-in

    @Sendable func loginPage(request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        if context.identity != nil, query["expired"] == nil { return Self.redirect("/") }
        var notice: String?
        if query["expired"] != nil { notice = "Your sign-in has expired. Please sign in again." }
        if query["signedOut"] != nil { notice = "You are signed out on every device." }
        return loginForm(next: query["next"].map(String.init), typed: nil, notice: notice, error: nil, status: .ok, address: context.remoteAddress)
    }

    func loginForm(next: String?, typed: String?, notice: String?, error: String?, status: HTTPResponse.Status, address: String?) -> Response {
        let token = loginTokens.issue(for: address, now: clock.now)
        var values: [String: Any] = ["title": "Sign in", "loginToken": token, "next": next ?? "/", "typed": typed ?? ""]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        var response = render("login", values, identity: nil, status: status)
        response.setCookie(loginCookie(token, maxAge: 3600))
        return response
    }

    /// The pre-sign-in CSRF cookie, sent only to `/login`.
    func loginCookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.loginCookie, value: value, maxAge: maxAge, path: "/login", secure: passwords.secureCookies, httpOnly: true, sameSite: .strict)
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await form(request)
        let next = Self.safeNext(form.next)
        let address = context.remoteAddress
        if let origin = request.headers[.origin], !CSRFMiddleware(allowedOrigins: allowedOrigins).isSameSite(origin: origin, request: request) {
            throw APIError(.forbidden, "sign-in from another site (\(origin)) refused")
        }
        guard let cookie = request.cookies[Self.loginCookie]?.value, let sent = form._csrf, CSRFMiddleware.constantTimeEqual(cookie, sent),
            loginTokens.isValid(sent, for: address, now: clock.now)
        else {
            return loginForm(
                next: next, typed: form.username, notice: nil, error: "The sign-in page was out of date. Please try again.", status: .forbidden,
                address: address
            )
        }
        switch try await passwords.attempt(username: form.username ?? "", password: form.password ?? "", address: context.remoteAddress) {
        case .throttled(let seconds):
            return loginForm(
                next: next, typed: form.username, notice: nil, error: "Too many failed sign-ins. Try again in \(seconds) seconds.", status: .tooManyRequests,
                address: address
            )
        case .wrongPassword:
            return loginForm(next: next, typed: form.username, notice: nil, error: "Wrong username or password.", status: .unauthorized, address: address)
        case .signedIn(let user, let signIn):
            context.logger.info("signed in", metadata: ["user": "\(user.username)"])
            var response = Self.redirect(next == "/" && user.role.isStaff ? "/instructor" : next)
            response.setCookie(passwords.cookie(for: signIn))
            response.setCookie(loginCookie("", maxAge: 0))
            return response
        }
    }

    /// Only paths on this site, so a crafted link cannot send people elsewhere after sign-in. The
    /// check sees the address as a browser will: URL parsers (WHATWG) drop tabs and line breaks
    /// anywhere and control characters and spaces at the ends, so `/\t/evil.example` is
    /// `//evil.example` to a browser, and they read `\` as `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next else { return "/" }
        let trimmed = next.unicodeScalars.drop { $0.value <= 0x20 }.reversed().drop { $0.value <= 0x20 }.reversed()
        let normalised = String(String.UnicodeScalarView(trimmed.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }))
        guard normalised.hasPrefix("/"), !normalised.hasPrefix("//"), !normalised.contains("\\"),
            !normalised.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return "/" }
        return normalised
    }

    /// Signs out on every device: all of the user's sign-ins end (and, when asked on the
    /// account page, their API tokens are revoked).
    @Sendable func logout(request: Request, context: AppRequestContext) async throws -> Response {
        let (identity, form) = try await checked(request, context)
        if case .cookie(let token, _) = identity.method {
            try await accounts.endSignIn(token: token, user: identity.user, everywhere: true)
        }
        if form.revokeTokens != nil {
            let count = try await accounts.revokeAllTokens(of: identity.user.username, actor: identity.user.username, now: clock.now)
            context.logger.info("signed out everywhere and revoked API tokens", metadata: ["user": "\(identity.user.username)", "tokens": "\(count)"])
        }
        var response = Self.redirect("/login?signedOut=1")
        response.setCookie(passwords.clearedCookie)
        return response
    }

    // MARK: Exercises and lobby

    @Sendable func home(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try signedIn(request, context)
        var notice: String?
        if let left = request.uri.queryParameters["left"].map(String.init) {
            // Back from leaving a team (the module's title, or nothing for a made-up id).
            if let title = try await runtime.modules().first(where: { $0.id == left })?.title {
                notice =
                    request.uri.queryParameters["ended"] != nil
                    ? "You left your team for \(title). Nobody was left in it, so the session has ended."
                    : "You left your team for \(title). Your team was told and works on without you."
            }
        }
        return try await homePage(identity, error: nil, notice: notice, status: .ok)
    }

    func homePage(_ identity: Identity, error: String?, notice: String? = nil, status: HTTPResponse.Status) async throws -> Response {
        var modules: [[String: Any]] = []
        for module in try await runtime.modules().sorted(by: { $0.title < $1.title }) {
            let open = try await runtime.matching(of: module.id)?.open ?? false
            let group = module.group.min == module.group.max ? "\(module.group.min)" : "\(module.group.min)–\(module.group.max)"
            modules.append([
                "id": module.id, "title": module.title, "descriptionHTML": markdown.html(module.description ?? ""), "kit": module.kit.rawValue,
                "groupText": group, "taskCount": module.tasks.count, "open": open,
            ])
        }
        var values: [String: Any] = ["title": "Exercises", "modules": modules]
        if let current = try await runtime.currentSession(of: identity.user.username) { values["current"] = current.id }
        if let error { values["error"] = error }
        if let notice { values["notice"] = notice }
        return render("home", values, identity: identity, status: status)
    }

    @Sendable func join(request: Request, context: AppRequestContext) async throws -> Response {
        let (identity, form) = try await checked(request, context)
        let module = form.module ?? ""
        do {
            let status = try await runtime.join(user: identity.user.username, module: module, leaving: form.leaveSession)
            if let left = form.leaveSession { hub?.closeConnections(of: identity.user.username, in: left) }
            switch status {
            case .matched(let session): return Self.redirect("/sessions/\(session)")
            default: return Self.redirect("/lobby")
            }
        } catch SessionManager.JoinError.inSession(let session, let current) where current == module {
            // Join on the exercise they are already doing: back to their team.
            return Self.redirect("/sessions/\(session)")
        } catch SessionManager.JoinError.inSession(let session, let current) {
            return try await joinChoice(identity, session: session, current: current, wanted: module)
        } catch SessionManager.JoinError.lobby(.alreadyWaiting) {
            // A second click on Join: the first one already put them in the queue.
            return Self.redirect("/lobby")
        } catch let error as SessionManager.JoinError {
            return try await homePage(identity, error: "You could not join: \(error.description).", status: .conflict)
        }
    }

    /// Someone in a team asked to join another exercise: stay, or leave the team and join.
    func joinChoice(_ identity: Identity, session: String, current: String, wanted: String) async throws -> Response {
        let titles = try await runtime.modules().reduce(into: [String: String]()) { $0[$1.id] = $1.title }
        return render(
            "choice",
            [
                "title": "You are in a team", "session": session, "currentTitle": titles[current] ?? current, "wantedTitle": titles[wanted] ?? wanted,
                "wanted": wanted,
            ],
            identity: identity, status: .conflict
        )
    }

    @Sendable func lobby(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try signedIn(request, context)
        switch try await runtime.committedStatus(of: identity.user.username) {
        case .matched(let session):
            return Self.redirect("/sessions/\(session)")
        case .waiting(let waiting):
            let title = try await runtime.modules().first { $0.id == waiting.module }?.title ?? waiting.module
            return render(
                "lobby",
                [
                    "title": "Waiting for your team", "moduleTitle": title, "module": waiting.module, "position": waiting.position,
                    "since": EventExporter.timestamp(waiting.since), "giveUpAt": EventExporter.timestamp(waiting.giveUpAt),
                    "timeLeft": LobbyWords.spoken(waiting.giveUpAt.timeIntervalSince(clock.now)), "teamForming": LobbyWords.teamForming(waiting),
                    "waitLimit": LobbyWords.waitLimit(waiting), "gaveUpText": LobbyWords.gaveUp, "script": "lobby.js",
                ],
                identity: identity
            )
        case .gaveUp(let module):
            let title = try await runtime.modules().first { $0.id == module }?.title ?? module
            return render(
                "lobby",
                ["title": "No team this time", "moduleTitle": title, "module": module, "gaveUp": true, "gaveUpText": LobbyWords.gaveUp, "script": "lobby.js"],
                identity: identity
            )
        case .idle:
            return Self.redirect("/")
        }
    }

    @Sendable func leave(request: Request, context: AppRequestContext) async throws -> Response {
        let (identity, _) = try await checked(request, context)
        _ = try await runtime.leaveLobby(user: identity.user.username)
        return Self.redirect("/")
    }

    /// A member leaves their session from its page (the page asked them to confirm first).
    @Sendable func leaveSession(request: Request, context: AppRequestContext) async throws -> Response {
        let (identity, _) = try await checked(request, context)
        let id = try context.parameters.require("id")
        do {
            let departure = try await runtime.leave(user: identity.user.username, session: id)
            hub?.closeConnections(of: identity.user.username, in: id)
            // Post/redirect/get: a reload of the list does not send the form again. (Module ids
            // are lowercase letters, digits and dashes: nothing to encode.)
            return Self.redirect("/?left=\(departure.module)" + (departure.remaining.isEmpty ? "&ended=1" : ""))
        } catch let error as SessionManager.LeaveError {
            return message("Could not leave", "You could not leave: \(error.description).", identity: identity, status: .conflict)
        }
    }

    // MARK: Session

    @Sendable func session(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try signedIn(request, context)
        let id = try context.parameters.require("id")
        guard let session = try await runtime.session(id) else {
            return message("No such session", "There is no session '\(id)'. It may have been mistyped.", identity: identity, status: .notFound)
        }
        let member = session.member(identity.user.username)
        guard session.admits(identity.user) else {
            return message(
                "Not your team", "This is another team's session, so it cannot be opened. Your own session is linked from the list of exercises.",
                identity: identity, status: .forbidden
            )
        }
        let module = try await runtime.module(id: session.module)
        var members: [[String: Any]] = []
        for member in session.members {
            let name = try await accounts.findUser(member.user)?.displayName ?? member.user
            members.append(["username": member.user, "displayName": name, "role": member.role])
        }
        let tasks: [[String: Any]] = (module?.tasks ?? []).map { task in
            ["id": task.id, "title": task.title, "instructionsHTML": markdown.html(task.instructions)]
        }
        // A team of one is told so, here as on the way from the lobby.
        var alone: String?
        if member != nil, session.members.count == 1, !session.phase.isOver {
            alone = LobbyWords.alone(lateJoin: try await runtime.lateJoinTimeLeft(session: session.id))
        }
        return render(
            "session",
            [
                "title": module?.title ?? session.module, "moduleTitle": module?.title ?? session.module, "sessionID": session.id,
                "phase": session.phase.rawValue,
                "myRole": member?.role ?? "observer", "members": members, "tasks": tasks, "staffText": identity.user.role.isStaff ? "true" : "false",
                "script": "session.js", "isMember": member != nil && !session.phase.isOver, "alone": alone.map { $0 as Any } ?? false,
            ],
            identity: identity
        )
    }

    // MARK: Staff pages

    @Sendable func dashboard(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try staff(
            request, context, heading: "Instructors only", refusal: "The dashboard is for instructors. Ask one if you need something changed.")
        return render("dashboard", ["title": "Dashboard", "modules": try await moduleList(), "script": "dashboard.js"], identity: identity)
    }

    @Sendable func research(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try staff(request, context, heading: "Researchers only", refusal: "The research export is for instructors and researchers.")
        return render("research", ["title": "Research export", "modules": try await moduleList()], identity: identity)
    }

    /// The research page's "replay a session" form: on to that session's replay.
    @Sendable func replayLookup(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try staff(request, context, heading: "Researchers only", refusal: "Session replays are for instructors and researchers.")
        let id = request.uri.queryParameters["id"].map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { return Self.redirect("/research") }
        return Self.redirect("/research/sessions/\(id)")
    }

    /// A session played back (`replay.js` draws the timeline and notebooks from
    /// `/api/sessions/{id}/replay`); the team's contributions are drawn here.
    @Sendable func replay(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try staff(request, context, heading: "Researchers only", refusal: "Session replays are for instructors and researchers.")
        let id = try context.parameters.require("id")
        let events: [Event]
        do {
            events = try await ResearchController.events(of: id, runtime: runtime)
        } catch let error as APIError where error.status == .notFound {
            return message(
                "No such session", "The record has no session '\(id)'. It may have been mistyped, or it is in another installation's log.",
                identity: identity, status: .notFound, link: ("/research", "Back to the research page"))
        }
        var tally = ContributionTally(session: id)
        for event in events { tally.add(event) }
        let figures = tally.contributions(now: clock.now)
        let names = try await ResearchController.displayNames(of: figures, accounts: accounts)
        let module = figures.module
        var title: String?
        if let module { title = try await runtime.module(id: module)?.title }
        let rows: [[String: Any]] = figures.members.map { member in
            [
                "user": member.user, "displayName": names[member.user] ?? member.user,
                "roles": member.roleSeconds.sorted { $0.key < $1.key }.map { "\($0.key) \(DurationText.text(.seconds($0.value)))" }.joined(separator: ", "),
                "edits": member.edits, "editBytes": member.editBytes, "executions": member.executions, "executionErrors": member.executionErrors,
                "chatMessages": member.chatMessages, "testRuns": member.testRuns, "testsPassed": member.testsPassed,
            ]
        }
        return render(
            "replay",
            [
                "title": "Replay of \(id)", "sessionID": id, "moduleTitle": title ?? module ?? "unknown module", "members": rows,
                "chartSVG": ContributionChart.svg(figures, names: names), "eventCount": events.count, "script": "replay.js",
                "started": events.first.map { Self.shortDate($0.time) } ?? "",
            ],
            identity: identity
        )
    }

    func moduleList() async throws -> [[String: String]] { try await runtime.modules().map { ["id": $0.id, "title": $0.title] } }
}
