import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OPECore
import OPERuntime
import OPEStore

/// A session played back, and who contributed what, for instructors and researchers (staff):
/// the replay page's data, each team's figures as JSON, CSV or a small SVG chart, and every
/// team's figures as one download.
struct ResearchController {
    let runtime: any RuntimeAPI
    let accounts: any AccountDirectory
    var clock: any PlatformClock = SystemClock()

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("sessions/:id/replay", use: replay)
        group.get("sessions/:id/contributions", use: contributions)
        group.get("sessions/:id/contributions.svg", use: chart)
        group.get("contributions", use: export)
    }

    /// The session's whole record (404 when the log has no event of it).
    static func events(of id: String, runtime: any RuntimeAPI) async throws -> [Event] {
        var events: [Event] = []
        try await runtime.history(session: id, after: nil) { page in events += page }
        guard !events.isEmpty else { throw APIError(.notFound, "no session '\(id)' in the record") }
        return events
    }

    /// `GET /api/sessions/{id}/replay[?at=<time>]`: the timeline, the contributions, and with `at`
    /// each notebook as of that moment.
    @Sendable func replay(request: Request, context: AppRequestContext) async throws -> JSONResponse<SessionReplay> {
        _ = try context.requireStaff()
        let id = try context.parameters.require("id")
        let at = try request.uri.queryParameters["at"].map { text in
            guard let date = TimeParsing.parse(String(text)) else { throw APIError(.badRequest, "at must be a time like 2026-11-27T09:30:00Z") }
            return date
        }
        let events = try await Self.events(of: id, runtime: runtime)
        var replay = SessionReplay(session: id, events: events, now: clock.now)
        if let at { replay.notebooks = NotebookState.states(at: at, in: events) }
        return JSONResponse(value: replay)
    }

    /// `GET /api/sessions/{id}/contributions[?format=json|csv]`.
    @Sendable func contributions(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        let id = try context.parameters.require("id")
        let format = request.uri.queryParameters["format"].map(String.init) ?? "json"
        guard ["json", "csv"].contains(format) else { throw APIError(.badRequest, "format must be json or csv") }
        var tally = ContributionTally(session: id)
        for event in try await Self.events(of: id, runtime: runtime) { tally.add(event) }
        let figures = tally.contributions(now: clock.now)
        if format == "csv" { return Self.text(Contributions.csv([figures]), type: "text/csv; charset=utf-8", download: "ope-contributions-\(id).csv") }
        return try JSONResponse(value: figures).response(from: request, context: context)
    }

    /// `GET /api/sessions/{id}/contributions.svg`: the team's chart, server-rendered.
    @Sendable func chart(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        let id = try context.parameters.require("id")
        var tally = ContributionTally(session: id)
        for event in try await Self.events(of: id, runtime: runtime) { tally.add(event) }
        let figures = tally.contributions(now: clock.now)
        let svg = ContributionChart.svg(figures, names: try await Self.displayNames(of: figures, accounts: accounts))
        return Self.text(svg, type: "image/svg+xml; charset=utf-8", download: nil)
    }

    /// `GET /api/contributions?format=csv|jsonl&module=&session=&since=&until=`: every team's
    /// figures, one row per session and member.
    @Sendable func export(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        let format = request.uri.queryParameters["format"].map(String.init) ?? "csv"
        guard ["csv", "jsonl"].contains(format) else { throw APIError(.badRequest, "format must be csv or jsonl") }
        var filter = try EventsController.filter(request)
        // A session's figures need its formation, whatever the time filter says.
        filter.since = nil
        var report = Contributions.Report()
        try await runtime.export(filter) { page in report.add(page) }
        let sessions = report.contributions(now: clock.now)
        return format == "csv"
            ? Self.text(Contributions.csv(sessions), type: "text/csv; charset=utf-8", download: "ope-contributions.csv")
            : Self.text(try Contributions.jsonLines(sessions), type: "application/x-ndjson", download: "ope-contributions.jsonl")
    }

    /// The members' display names (usernames for accounts that are gone).
    static func displayNames(of figures: Contributions, accounts: any AccountDirectory) async throws -> [String: String] {
        var names: [String: String] = [:]
        for member in figures.members { names[member.user] = try await accounts.findUser(member.user)?.displayName ?? member.user }
        return names
    }

    static func text(_ text: String, type: String, download: String?) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "no-store"]
        if let download { headers[.contentDisposition] = "attachment; filename=\"\(download)\"" }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
