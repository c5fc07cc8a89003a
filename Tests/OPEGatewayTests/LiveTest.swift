import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

// `@testable` for HummingbirdTesting's own live harness (`TestApplication`, which reports the
// port the server bound) and `TestResponse`'s initialiser; `swift build --build-tests` builds
// packages with testing enabled in debug, as `make test` does.
@testable import HummingbirdTesting

/// The test client of ``ApplicationProtocol/testLive(_:)``: HummingbirdTesting's live client,
/// with a longer bound on each answer.
struct LiveClient: TestClientProtocol {
    /// How long a request may wait for its answer. `test(.live)` allows 20 s, fixed. In a full
    /// `make test` on two cores, JupyterLabs, Chromiums and cluster processes of other tests run
    /// beside the in-process servers (a load average above 20), and simple requests (a sign-in,
    /// a lobby join) were answered later than that: the test failed with `.readTimeout` though
    /// nothing was wrong. A server that hangs still fails the test, after this bound.
    static let requestBound = Duration.seconds(120)

    let client: TestClient

    func executeRequest(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> TestResponse {
        var headers = headers
        headers[.connection] = "keep-alive"
        let response = try await client.execute(TestClient.Request(uri, method: method, authority: "localhost", headers: headers, body: body))
        return TestResponse(head: response.head, body: response.body ?? ByteBuffer(), trailerHeaders: response.trailerHeaders)
    }

    var port: Int? { client.port }
}

extension ApplicationProtocol {
    /// Runs the application on a free port, as `test(.live)` does, and `test` against it with a
    /// ``LiveClient``; the server shuts down gracefully afterwards, whether `test` threw or not.
    func testLive<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let application = TestApplication(base: self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let services = ServiceGroup(configuration: .init(services: [application], logger: application.logger))
            group.addTask { try await services.run() }
            let port = await application.portPromise.wait()
            let client = TestClient(host: "localhost", port: port, configuration: .init(timeout: LiveClient.requestBound))
            client.connect()
            let result: Result<Value, any Error>
            do {
                result = .success(try await test(LiveClient(client: client)))
            } catch {
                result = .failure(error)
            }
            try await client.shutdown()
            await services.triggerGracefulShutdown()
            return try result.get()
        }
    }
}
