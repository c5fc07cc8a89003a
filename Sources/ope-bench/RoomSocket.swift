import HTTPTypes
import HummingbirdWSClient
import Logging
import Synchronization

/// A load-test participant's team-room socket: opened with the participant's API token, handed
/// to `handler`; returns the server's close frame, if it sent one.
@discardableResult
func openRoomSocket(
    url: String, token: String, logger: Logger,
    _ handler: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter) async throws -> Void
) async throws -> WebSocketCloseFrame? {
    var configuration = WebSocketClientConfiguration()
    configuration.additionalHeaders = [.authorization: "Bearer \(token)"]
    return try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
        try await handler(inbound, outbound)
    }
}

/// A value the load test's tasks share (a participant's flags, the storm's figures).
final class Locked<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
