import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import OPECore
import OPERuntime
import OPEStore
import OPEWorkspaces
import Synchronization

/// The authenticating reverse proxy in front of every workspace: `/w/{id}/...`, HTTP and WebSocket.
///
/// Callers prove who they are with the platform's own cookie or Bearer token; only the session's
/// members and staff get through. The JupyterLab token is added here and never reaches a browser;
/// the platform cookie never reaches JupyterLab. Bodies stream both ways. Because JupyterLab
/// skips its own XSRF check for token-authenticated calls, this proxy refuses state-changing
/// requests and WebSocket upgrades whose `Origin` is another site (the session cookie is also
/// `SameSite=Lax`, so other sites' forms and scripts do not carry it).
struct WorkspaceProxyController {
    /// Where workspaces run, starting them, noting their use: this process's, or a cluster's cores'.
    let workspaces: any WorkspaceAccess
    let runtime: any RuntimeAPI
    /// Keep-alive connections to the workspaces.
    var upstream = UpstreamHTTP.shared
    let allowedOrigins: Set<String>
    /// Request bodies up to this size (a notebook being saved) are read whole before they go on.
    static let bufferedUpload: Int64 = 16 << 20

    /// HTML pages up to this size are read whole to take JupyterLab's token out.
    static let pageLimit = 8 << 20

    /// Largest WebSocket message relayed (a notebook's first Yjs sync can be large).
    static let maxMessageSize = 16 << 20

    /// Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the ones we replace.
    static let dropRequestHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host",
        "authorization", "content-length", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
        // No cookie crosses: the platform's is ours, and Jupyter never gets to set one of its own.
        "cookie",
    ]
    /// Jupyter's own cookies (a 30-day login cookie that works against the workspace directly,
    /// `_xsrf`) stay with the proxy: the browser's sign-in is the platform's alone.
    static let dropResponseHeaders: Set<String> = ["connection", "keep-alive", "transfer-encoding", "trailer", "upgrade", "content-length", "set-cookie"]

    let accounts: any AccountDirectory
    /// On the separate workspace origin: who may embed JupyterLab (the platform's pages). JupyterLab
    /// allows only itself (`frame-ancestors 'self'`), which would blank the session page's frame.
    var frameAncestors: String? = nil
    let cache = WorkspaceAccessCache()
    /// Notes members' edits (document updates on the collaboration sockets) for the dashboard
    /// and the research record.
    var notesEdits = true
    /// Closes proxied WebSockets when the sign-in or token they were opened with is revoked.
    let live: LiveConnections
    /// Decides whether API tokens have expired.
    var clock: any PlatformClock = SystemClock()
    /// Looks into members' collaboration, kernel and terminal sockets at all (see
    /// ``GatewayConfiguration/inspectsWorkspaceSockets``).
    var inspects = true
    /// Who may change each workspace now (roles enforced by the module).
    let roles = WorkspaceRoles()
    /// Which document each collaboration room edits.
    let documents = WorkspaceDocuments()

    func addRoutes(to router: Router<AppRequestContext>) {
        // A revoked credential must not ride on the cache for its last seconds.
        accounts.revocations.subscribe { [cache] _ in cache.clear() }
        Task { [roles, runtime, accounts] in await roles.start(runtime: runtime, accounts: accounts, logger: Logger(label: "ope.workspaces")) }
        // Authentication happens in `authorize`, which skips the lookups for callers it has just let in.
        let group = router.group("w")
        group.get(":workspace") { request, context -> Response in
            // JupyterLab's pages are relative to the folder: add the slash.
            let id = try context.parameters.require("workspace")
            return Response(status: .permanentRedirect, headers: [.location: "/w/\(id)/" + (request.uri.query.map { "?" + $0 } ?? "")])
        }
        // OPE's own answer inside the workspace: what its JupyterLab extension shows the member.
        group.get(":workspace/ope/role") { request, context in try await role(request, context: context) }
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete, .options] {
            group.on(":workspace/**", method: method) { request, context in
                if method == .get, request.headers[.upgrade]?.lowercased() == "websocket" {
                    return try await upgrade(request, context: context)
                }
                return try await forward(request, context: context)
            }
        }
    }

    // MARK: Authorisation

    /// The running workspace behind `/w/{id}/` if the caller may use it.
    func authorize(_ request: Request, context: AppRequestContext) async throws -> Workspace {
        try await access(request, context: context).workspace
    }

    /// The running workspace behind `/w/{id}/` if the caller may use it, and the credential they
    /// came with (to close their WebSockets when it is revoked).
    func access(_ request: Request, context: AppRequestContext) async throws -> (workspace: Workspace, identity: Identity) {
        let id = try context.parameters.require("workspace")
        if !Self.isSafe(request.method), let origin = request.headers[.origin],
            !CSRFMiddleware(allowedOrigins: allowedOrigins).isSameSite(origin: origin, request: request)
        {
            throw APIError(.forbidden, "cross-origin request from \(origin) refused")
        }
        // Fast path: a ready workspace and a caller let in moments ago.
        let credential = AuthenticationMiddleware.credential(of: request)
        if let credential, let workspace = workspaces.route(id), let known = cache.allowed(credential, session: workspace.session) {
            workspaces.touch(session: workspace.session)
            return (workspace, known)
        }
        guard let identity = try await AuthenticationMiddleware(accounts: accounts, clock: clock).identity(for: request) else {
            throw APIError(.unauthorized, "sign in first: workspaces are only open to their team")
        }
        // A culled or crashed session workspace restarts under the session's own id.
        let session = try await workspaces.resolve(id)?.session ?? id
        guard let live = try await runtime.session(session) else { throw APIError(.notFound, "no workspace '\(id)'") }
        guard live.admits(identity.user) else {
            throw APIError(.forbidden, "only members of session \(session) and instructors may open its workspace")
        }
        guard !live.phase.isOver else { throw APIError(.gone, "session \(session) has ended; its workspace is closed") }
        guard let workspace = try await workspaces.open(session: session) else {
            let reason =
                try await workspaces.state(of: session).map { state -> String in
                    if case .failed(let why) = state { return why }
                    return state.name
                } ?? "not started"
            throw APIError(.serviceUnavailable, "the workspace of session \(session) is not available: \(reason)", headers: [.retryAfter: "5"])
        }
        // An old pool path after a restart: send the browser to the current one.
        guard workspace.id == id else {
            let rest = request.uri.path.dropFirst("/w/\(id)/".count)
            throw APIError(.temporaryRedirect, "the workspace moved to \(workspace.path)", headers: [.location: workspace.path + rest])
        }
        if let credential { cache.allow(credential, as: identity, session: session) }
        workspaces.touch(session: session)
        return (workspace, identity)
    }

    static func isSafe(_ method: HTTPRequest.Method) -> Bool { method == .get || method == .head || method == .options }

    /// Who the workspace is told is calling (signed with its token; see ``WorkspaceIdentity``).
    func identityHeaders(_ user: User, workspace: Workspace) -> [(name: String, value: String)] {
        let team = roles.team(workspace.session)
        let seat = team?.session.members.firstIndex { $0.user == user.username }
        return WorkspaceIdentity.headers(for: user, seat: seat, role: team?.role(of: user.username), token: workspace.token)
    }

    /// `GET /w/{id}/ope/role`: the caller's role in the team, who drives, and whether the caller
    /// may change the workspace now (with the reason if not), for the workspace's extension.
    func role(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (workspace, identity) = try await access(request, context: context)
        let user = identity.user.username
        let (team, decision) = await roles.reading(for: user, in: workspace.session, now: clock.now)
        var answer: [String: JSONValue] = [
            "user": .string(user), "name": .string(identity.user.displayName), "enforced": .bool(team?.enforcement == .driverEdits),
            "openFiles": .array((team?.openFiles ?? []).map(JSONValue.string)),
        ]
        if let role = team?.role(of: user) { answer["role"] = .string(role) }
        if let driver = team?.driver {
            answer["driver"] = .string(driver)
            answer["driverName"] = .string(team?.names[driver] ?? driver)
        }
        switch decision {
        case .allowed: answer["readOnly"] = .bool(false)
        case .readOnly(let reason):
            answer["readOnly"] = .bool(true)
            answer["reason"] = .string(reason)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: JSONValue.jsonText(object: answer))))
    }

    // MARK: HTTP

    func forward(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (workspace, identity) = try await access(request, context: context)
        let path = request.head.path ?? request.uri.path
        let action = WorkspaceAction(method: request.method, path: path, workspace: workspace.id)
        if let action, action.changesWork {
            if case .readOnly(let reason) = await roles.reading(for: identity.user.username, in: workspace.session, now: clock.now).decision {
                await refused(action.refusal, reason: reason, user: identity.user.username, session: workspace.session, logger: context.logger)
                throw APIError(.forbidden, "read-only: \(reason)")
            }
        }
        var upstream = HTTPHeaders()
        upstream.reserveCapacity(request.headers.count + 8)
        for field in request.headers where !Self.dropRequestHeaders.contains(field.name.canonicalName) {
            // The identity headers are the proxy's to set: a browser's own never reach JupyterLab.
            guard !field.name.canonicalName.hasPrefix("x-ope-") else { continue }
            upstream.add(name: field.name.rawName, value: field.value)
        }
        upstream.add(name: "Authorization", value: "token \(workspace.token)")
        for header in identityHeaders(identity.user, workspace: workspace) { upstream.add(name: header.name, value: header.value) }
        if let address = context.remoteAddress { upstream.add(name: "X-Forwarded-For", value: address) }
        if let host = request.head.authority { upstream.add(name: "X-Forwarded-Host", value: host) }
        var requestBody: ByteBuffer?
        var body = UpstreamHTTP.RequestBody.none
        let length = request.headers[.contentLength].flatMap { Int64($0) }
        if request.method != .get, request.method != .head, length != nil || request.headers[.transferEncoding] != nil {
            if let length, length <= Self.bufferedUpload {
                // Read whole, so a request on a kept connection that JupyterLab had just closed
                // can be sent again (a streamed body can be read only once).
                let whole = try await request.body.collect(upTo: Int(length))
                requestBody = whole
                body = .whole(whole)
                upstream.add(name: "Content-Length", value: String(whole.readableBytes))
            } else {
                body = .stream(request.body)
                if let length { upstream.add(name: "Content-Length", value: String(length)) } else { upstream.add(name: "Transfer-Encoding", value: "chunked") }
            }
        }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method.rawValue), uri: path, headers: upstream)
        let response: UpstreamHTTP.Response
        do {
            response = try await self.upstream.send(head, body: body, to: workspace, on: context.eventLoop)
        } catch {
            context.logger.warning("workspace did not answer", metadata: ["workspace": "\(workspace.id)", "error": "\(error)"])
            throw APIError(.badGateway, "the workspace did not answer; it may be restarting")
        }
        let isPage = response.head.headers.first(name: "content-type")?.lowercased().hasPrefix("text/html") ?? false
        var headers = HTTPFields()
        for header in response.head.headers {
            guard let name = HTTPField.Name(header.name), !Self.dropResponseHeaders.contains(name.canonicalName), name != .contentSecurityPolicy else {
                continue
            }
            headers.append(HTTPField(name: name, value: header.value))
        }
        let upstreamPolicy = response.head.headers.first(name: "content-security-policy")
        if isPage || upstreamPolicy != nil {
            headers[.contentSecurityPolicy] = Self.workspacePolicy(upstream: upstreamPolicy, frameAncestors: frameAncestors, page: isPage)
        }
        let answerLength = response.head.headers.first(name: "content-length").flatMap(Int.init)
        let status = HTTPResponse.Status(code: Int(response.head.status.code), reasonPhrase: response.head.status.reasonPhrase)
        // What the member did (a file created, a kernel restarted) is known once JupyterLab did it;
        // its answer (a small JSON model) says which file.
        if let action, action.isRecorded || action.opensDocument, (200..<300).contains(status.code), request.method != .head {
            let answer = try await collect(response, upTo: Self.pageLimit)
            await noted(
                action, request: requestBody, answer: answer, user: identity.user.username, session: workspace.session, logger: context.logger)
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: answer))
        }
        // JupyterLab writes its token into the pages it serves (page config, error pages). Pages
        // are read whole (up to 8 MiB) and the token is taken out, so it never reaches a browser.
        if isPage, request.method != .head, answerLength.map({ $0 <= Self.pageLimit }) ?? true {
            let page = try await collect(response, upTo: Self.pageLimit)
            let text = String(buffer: page)
            let scrubbed = text.contains(workspace.token) ? ByteBuffer(string: text.replacingOccurrences(of: workspace.token, with: "")) : page
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: scrubbed))
        }
        // Small answers of known length (most API calls) came whole and go out in one write,
        // like nginx's proxy buffer; anything larger or of unknown length streams chunk by chunk.
        if case .whole(let whole) = response.body, request.method != .head {
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: whole))
        }
        return Response(
            status: status,
            headers: headers,
            body: ResponseBody(contentLength: request.method == .head ? nil : answerLength) { writer in
                switch response.body {
                case .whole(let whole): if request.method != .head { try await writer.write(whole) }
                case .stream(let chunks): for try await chunk in chunks { try await writer.write(chunk) }
                }
                try await writer.finish(nil)
            }
        )
    }

    /// The whole of a workspace's answer, up to `limit` (a 502 past it).
    private func collect(_ response: UpstreamHTTP.Response, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await response.collect(upTo: limit)
        } catch UpstreamHTTP.Failure.tooLarge {
            throw APIError(.badGateway, "the workspace sent an answer larger than \(limit >> 20) MiB to read whole")
        } catch {
            throw APIError(.badGateway, "the workspace stopped answering: \(error)")
        }
    }

    // MARK: WebSocket

    func upgrade(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (workspace, identity) = try await access(request, context: context)
        let credential = identity.credential
        if let origin = request.headers[.origin], !CSRFMiddleware(allowedOrigins: allowedOrigins).isSameSite(origin: origin, request: request) {
            throw APIError(.forbidden, "cross-origin WebSocket from \(origin) refused")
        }
        let path = request.head.path ?? request.uri.path
        let upgrader = WebSocketUpgradeMiddleware<AppRequestContext>(shouldUpgrade: { _, _ in .upgrade([:]) }) { inbound, outbound, wsContext in
            let socket = WorkspaceSocket(path: path, workspace: workspace.id)
            // The team's roles are followed while its sockets are open, so each frame is decided
            // without asking anyone.
            await roles.track(workspace.session)
            defer { Task { [roles] in await roles.untrack(workspace.session) } }
            // Revoking the credential ends the relay: the signal wakes a task of its own in it.
            let (revoked, signal) = AsyncStream<Void>.makeStream()
            let registration = live.register(credential) {
                signal.yield()
                signal.finish()
            }
            defer { live.unregister(registration) }
            let member = socket == .other || !inspects ? nil : identity.user.username
            try await relay(
                inbound: inbound, outbound: outbound, to: workspace, path: path, member: member, socket: socket,
                headers: identityHeaders(identity.user, workspace: workspace), on: context.eventLoop, logger: wsContext.logger, revoked: revoked)
        }
        return try await upgrader.handle(request, context: context) { _, _ in Response(status: .notFound) }
    }

    /// Pipes messages both ways until either side closes, then closes the other. On a member's
    /// collaboration, kernel and terminal sockets it also records what they do and, when roles are
    /// enforced and they are not driving, keeps their edits, runs and typing from the workspace.
    func relay(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, to workspace: Workspace, path: String, member: String? = nil,
        socket: WorkspaceSocket = .other, headers: [(name: String, value: String)] = [], on loop: any EventLoop, logger: Logger,
        revoked: AsyncStream<Void> = AsyncStream { $0.finish() }
    ) async throws {
        let session = workspace.session
        let workspaces = self.workspaces
        let inspector = member.map { FrameInspector(proxy: self, member: $0, session: session, socket: socket, path: path, logger: logger) }
        do {
            // On the browser's connection's loop, as the proxy's HTTP requests are: a frame then
            // crosses no thread between the two sockets.
            let upstream = try await UpstreamWebSocket.connect(to: workspace, path: path, headers: headers, maxFrameSize: Self.maxMessageSize, on: loop)
            let closeCode = try await upstream.executeThenClose { upstreamIn, upstreamOut -> WebSocketErrorCode in
                try await withThrowingTaskGroup(of: WebSocketErrorCode.self) { group in
                    group.addTask {
                        var assembler = UpstreamWebSocket.Assembler(limit: Self.maxMessageSize)
                        for try await frame in upstreamIn {
                            switch frame.opcode {
                            case .ping: try await upstreamOut.write(UpstreamWebSocket.frame(.pong, frame.unmaskedData))
                            case .connectionClose:
                                var data = frame.unmaskedData
                                return data.readWebSocketErrorCode() ?? .normalClosure
                            case .text, .binary, .continuation:
                                guard let (opcode, data) = try assembler.add(frame) else { continue }
                                if opcode == .text {
                                    let text = String(buffer: data)
                                    // Looked at before it goes on, so a run is noted even when the
                                    // member closes the socket on its reply; the look is a parse, and
                                    // the event is appended on its own (never waited for here).
                                    await inspector?.fromWorkspace(text)
                                    try await outbound.write(.text(text))
                                } else {
                                    try await outbound.write(.binary(data))
                                }
                            default: continue
                            }
                        }
                        return .goingAway
                    }
                    group.addTask {
                        for try await message in inbound.messages(maxSize: Self.maxMessageSize) {
                            workspaces.touch(session: session)
                            if let inspector {
                                let (relayed, answers) = await inspector.fromMember(message)
                                for answer in answers { try await outbound.write(.text(answer)) }
                                guard relayed else { continue }
                            }
                            switch message {
                            case .text(let text): try await upstreamOut.write(UpstreamWebSocket.frame(.text, ByteBuffer(string: text)))
                            case .binary(let data): try await upstreamOut.write(UpstreamWebSocket.frame(.binary, data))
                            }
                        }
                        var close = ByteBuffer()
                        close.write(webSocketErrorCode: .normalClosure)
                        try? await upstreamOut.write(UpstreamWebSocket.frame(.connectionClose, close))
                        return .normalClosure
                    }
                    group.addTask {
                        // Ends the relay only when a revocation comes; otherwise waits to be cancelled.
                        var signals = revoked.makeAsyncIterator()
                        if await signals.next() != nil {
                            var close = ByteBuffer()
                            close.write(webSocketErrorCode: .goingAway)
                            try? await upstreamOut.write(UpstreamWebSocket.frame(.connectionClose, close))
                            return .unknown(RoomHub.signedOutCloseCode)
                        }
                        try await Task.sleep(for: .seconds(365 * 86400))
                        return .normalClosure
                    }
                    // Whichever side ends first ends the relay.
                    let first = try await group.next() ?? .normalClosure
                    group.cancelAll()
                    return first
                }
            }
            await inspector?.finish()
            try? await outbound.close(closeCode, reason: nil)
        } catch {
            await inspector?.finish()
            logger.info("workspace WebSocket ended", metadata: ["session": "\(session)", "error": "\(error)"])
            try? await outbound.close(.unexpectedServerError, reason: "the workspace connection failed")
        }
    }

    /// The Content-Security-Policy of what `/w/` serves: JupyterLab's own, with `frame-ancestors`
    /// set to who may embed it (the platform's pages, on the separate origin) and, for pages, the
    /// limits JupyterLab works within: scripts in notebook output may talk to this workspace only
    /// (`connect-src 'self'`, WebSockets included), load no plugins, post no forms elsewhere and
    /// move no base URL. (Inline scripts and eval stay allowed: JupyterLab and widgets need them.)
    static func workspacePolicy(upstream: String?, frameAncestors: String?, page: Bool) -> String {
        // JupyterLab sends the same few policies on every answer: each is rewritten once.
        let key = PolicyKey(upstream: upstream, frameAncestors: frameAncestors, page: page)
        if let known = policies.withLock({ $0[key] }) { return known }
        let policy = rewrittenPolicy(upstream: upstream, frameAncestors: frameAncestors, page: page)
        policies.withLock { policies in
            if policies.count >= 256 { policies.removeAll(keepingCapacity: true) }
            policies[key] = policy
        }
        return policy
    }

    private struct PolicyKey: Hashable {
        var upstream: String?
        var frameAncestors: String?
        var page: Bool
    }
    private static let policies = Mutex<[PolicyKey: String]>([:])

    private static func rewrittenPolicy(upstream: String?, frameAncestors: String?, page: Bool) -> String {
        var directives = (upstream ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func name(_ directive: String) -> String { directive.split(separator: " ").first.map { $0.lowercased() } ?? "" }
        if let frameAncestors {
            directives.removeAll { name($0) == "frame-ancestors" }
            directives.append("frame-ancestors \(frameAncestors)")
        }
        if page {
            for extra in ["connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'"]
            where !directives.contains(where: { name($0) == name(extra) }) {
                directives.append(extra)
            }
        }
        return directives.joined(separator: "; ")
    }
}
