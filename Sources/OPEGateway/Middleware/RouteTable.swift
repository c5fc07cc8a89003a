import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Which methods a router serves on a path, for the `Allow` header of a 405.
///
/// Hummingbird's router answers a known path with an unknown method 404 and keeps its route
/// table to itself, so this asks the router: it sends the path with each method as a probe that
/// ``RouteProbeMiddleware`` stops before any route runs.
final class RouteTable: Sendable {
    /// The methods OPE's routes use.
    static let candidates: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]

    private let responder = Mutex<RouterResponder<AppRequestContext>?>(nil)

    init() {}

    /// The router to ask, once all its routes are in.
    func use(_ router: Router<AppRequestContext>) {
        let built = router.buildResponder()
        responder.withLock { $0 = built }
    }

    /// The methods other than `request`'s that have a route for its path.
    func methods(for request: Request, context: AppRequestContext) async -> [HTTPRequest.Method] {
        guard let responder = responder.withLock({ $0 }) else { return [] }
        var allowed: [HTTPRequest.Method] = []
        for method in Self.candidates where method != request.method {
            var head = request.head
            head.method = method
            var probe = context
            probe.coreContext.endpointPath = EndpointPath()
            probe.isRouteProbe = true
            let answer = try? await responder.respond(to: Request(head: head, body: .init(buffer: ByteBuffer())), context: probe)
            if answer?.status == .noContent { allowed.append(method) }
        }
        return allowed
    }
}
