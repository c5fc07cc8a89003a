import Foundation

/// The OpenAPI 3.1 description of the REST API, served at `/api/openapi.json`.
///
/// Kept by hand in `Web/openapi.json` (a resource, so it is JSON that editors and tools read as
/// such). `OpenAPIRouteTests` compares it with the router's routes in both directions, and
/// schemathesis checks the server against it in `make test`.
enum OpenAPIDocument {
    static let path = WebController.resources + "/openapi.json"

    /// The document's text; a build without it is broken, so that is a crash at start, not a 404.
    static let json: String = {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            preconditionFailure("the OpenAPI document is missing from the build: \(path)")
        }
        return text
    }()
}
