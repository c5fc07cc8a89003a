import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// Health, metrics and the API description: what operators and scripts look at.
///
/// `/metrics` says how busy the platform is (sessions, users waiting, errors). With a token
/// (`ope serve --metrics-token`) it answers only `Authorization: Bearer <token>`, as Prometheus
/// sends with `authorization: {credentials: …}`; without one it answers only callers on this
/// machine, so a server listening on every address does not publish it to the world.
struct SystemController {
    let registry: PrometheusCollectorRegistry
    var metricsToken: String?

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in JSONResponse(value: ["status": "ok"]) }
        router.get("metrics") { [metricsToken] request, context in
            if let metricsToken {
                let given = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
                guard CSRFMiddleware.constantTimeEqual(given, metricsToken) else {
                    throw APIError(.unauthorized, "metrics need the token given to ope serve --metrics-token (Authorization: Bearer …)")
                }
            } else if let address = context.remoteAddress, !Self.isLoopback(address) {
                throw APIError(.forbidden, "metrics are served to this machine only; start ope serve with --metrics-token to let Prometheus in")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        router.get("api/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json))
            )
        }
    }

    /// 127.0.0.0/8 and ::1 (with or without a port, as the request context gives it).
    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address.hasPrefix("::1") || address.hasPrefix("[::1]") || address.hasPrefix("::ffff:127.")
    }
}
