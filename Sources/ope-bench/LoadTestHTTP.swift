import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The few REST calls a simulated participant makes.
struct LoadTestHTTP: Sendable {
    let http: HTTPClient
    let base: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func signIn(username: String, password: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        let response = try await send("POST", "/api/auth/login", body: body, token: nil)
        guard response.status == .ok else { throw Failure(description: "sign-in \(response.status)") }
    }

    func joinLobby(module: String, token: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["module": module])
        let response = try await send("POST", "/api/lobby/join", body: body, token: token)
        guard response.status == .ok else { throw Failure(description: "join \(response.status)") }
    }

    /// The session of the token's user, or nil while they still wait.
    func session(token: String) async throws -> String? {
        let response = try await send("GET", "/api/lobby", body: nil, token: token)
        guard response.status == .ok else { throw Failure(description: "lobby \(response.status)") }
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return object?["session"] as? String
    }

    /// The server's metric lines whose name starts with `prefix` (served to loopback callers).
    func metrics(_ prefix: String) async throws -> [String] {
        let response = try await send("GET", "/metrics", body: nil, token: nil)
        guard response.status == .ok else { throw Failure(description: "metrics \(response.status)") }
        return String(buffer: response.body).split(separator: "\n").filter { $0.hasPrefix(prefix) }.map(String.init)
    }

    private func send(_ method: String, _ path: String, body: Data?, token: String?) async throws -> (status: HTTPResponseStatus, body: ByteBuffer) {
        var request = HTTPClientRequest(url: base + path)
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (response.status, bytes)
    }
}
