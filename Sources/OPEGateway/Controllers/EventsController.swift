import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OPECore
import OPERuntime
import OPEStore

/// The event record, for instructors and researchers: a JSON page API and a streamed download.
struct EventsController {
    let runtime: any RuntimeAPI

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("events", use: list)
        group.get("events/export", use: export)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<[Event]> {
        _ = try context.requireStaff()
        let filter = try Self.filter(request)
        let limitText = request.uri.queryParameters["limit"].map(String.init)
        let limit =
            try limitText.map { text -> Int in
                guard let value = Int(text), (1...10_000).contains(value) else { throw APIError(.badRequest, "limit must be a number from 1 to 10000") }
                return value
            } ?? 1000
        return JSONResponse(value: try await runtime.events(filter, limit: limit))
    }

    @Sendable func export(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        let formatText = request.uri.queryParameters["format"].map(String.init) ?? "jsonl"
        guard let format = EventExporter.Format(rawValue: formatText) else { throw APIError(.badRequest, "format must be jsonl or csv") }
        let filter = try Self.filter(request)
        // In a cluster, every core's log merged in time order, each line naming its core.
        let record = try runtime.recordExport(filter, format: format)
        let logger = context.logger
        // The body is produced page by page while it is sent: an export never sits whole in memory.
        let body = ResponseBody { writer in
            do {
                try await record.run { text in try await writer.write(ByteBuffer(string: text)) }
            } catch {
                logger.error("event export stopped", metadata: ["error": "\(error)"])
                throw error
            }
            try await writer.finish(nil)
        }
        let name = "ope-events.\(format.rawValue)"
        return Response(
            status: .ok,
            headers: [.contentType: format.contentType, .contentDisposition: "attachment; filename=\"\(name)\"", .cacheControl: "no-store"],
            body: body
        )
    }

    static func filter(_ request: Request) throws -> EventFilter {
        let query = request.uri.queryParameters
        var filter = EventFilter()
        if let text = query["after"] {
            guard let value = Int64(String(text)) else { throw APIError(.badRequest, "after must be an event id (a number)") }
            filter.afterID = value
        }
        // Empty fields (as the export form sends them) mean no filter.
        func field(_ name: String) -> String? { query[name[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        filter.session = field("session")
        filter.module = field("module")
        if let text = field("since") { filter.since = try date(text, name: "since") }
        if let text = field("until") {
            // A bare date means up to the end of that day, as people read "until 27 November".
            let until = try date(text, name: "until")
            filter.until = text.count == 10 ? until.addingTimeInterval(86_400) : until
        }
        return filter
    }

    static func date(_ text: String, name: String) throws -> Date {
        guard let date = TimeParsing.parse(text) else {
            throw APIError(.badRequest, "\(name) must be a date or time like 2026-11-27 or 2026-11-27T09:30:00Z")
        }
        return date
    }
}
