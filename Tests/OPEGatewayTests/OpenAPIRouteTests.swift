import Foundation
import OPEGateway
import Testing

/// `Web/openapi.json` and the router agree, both ways: every route the API serves is described,
/// and every described operation is served. The pages (`/login`, `/lobby`, …) are HTML, not API,
/// and are left out; the workspace proxy (`/w/…`) is in, as the API's way into JupyterLab.
@Suite struct OpenAPIRouteTests {
    static func isAPI(_ path: String) -> Bool {
        path.hasPrefix("/api/") || path.hasPrefix("/w/") || ["/healthz", "/metrics"].contains(path)
    }

    @Test func theDocumentAndTheRouterDescribeTheSameRoutes() async throws {
        try await TestGateway.runWithWorkspaces { client, _, gateway in
            let document = try await client.get("/api/openapi.json").json()
            #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let methods = Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"])
            let documented = Set(paths.flatMap { path, operations in operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" } })

            let configuration = GatewayConfiguration(host: "127.0.0.1", port: 0, dataDirectory: NSTemporaryDirectory(), moduleFolders: [])
            let served = Set(try await platformRoutes(configuration, gateway: gateway).filter { Self.isAPI($0.path) }.map { "\($0.method) \($0.path)" })
            #expect(served.count > 30, "the router's routes were not listed: \(served.sorted())")

            let undocumented = served.subtracting(documented).sorted()
            let missing = documented.subtracting(served).sorted()
            #expect(undocumented.isEmpty, "served but not in Web/openapi.json: \(undocumented)")
            #expect(missing.isEmpty, "in Web/openapi.json but not served: \(missing)")
        }
    }
}
