import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import NIOCore
import Testing

/// Messages one WebSocket client has received, to wait on from a test.
actor Inbox {
    private(set) var texts: [String] = []
    private(set) var closed = false
    /// Whether the upgrade succeeded and the socket is open.
    private(set) var opened = false

    func add(_ text: String) { texts.append(text) }
    func open() { opened = true }
    func close() { closed = true }

    nonisolated func messages() async -> [[String: Any]] {
        await texts.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits (up to `timeout`) for a message matching `predicate` and returns it. The bound is
    /// generous: it only ends a wait for something that is not coming, and a busy machine is slow.
    nonisolated func waitFor(
        _ description: String, timeout: Duration = .seconds(60), where predicate: @Sendable @escaping ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let match = await messages().first(where: predicate) { return match }
            try await Task.sleep(for: .milliseconds(10))
        }
        let seen = await texts.joined(separator: "\n")
        throw RoomTestError("no \(description) within \(timeout); received:\n\(seen)")
    }

    nonisolated func waitFor(type: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        try await waitFor("'\(type)' message", timeout: timeout) { $0["type"] as? String == type }
    }
}

struct RoomTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A team-room WebSocket client running in the background of a test.
struct RoomClient {
    let inbox = Inbox()
    let outgoing: AsyncStream<String>.Continuation
    private let stream: AsyncStream<String>

    init() {
        (stream, outgoing) = AsyncStream.makeStream()
    }

    func send(_ object: [String: Any]) throws {
        outgoing.yield(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    func sendRaw(_ text: String) { outgoing.yield(text) }

    /// Closes the socket from the client side.
    func close() { outgoing.finish() }

    /// Connects and runs until ``close()`` or the server closes; call inside a task group.
    func run(_ client: any TestClientProtocol, path: String, cookie: String, origin: String? = nil) async throws {
        var headers: HTTPFields = [.cookie: cookie]
        if let origin { headers[.origin] = origin }
        let inbox = self.inbox
        let stream = self.stream
        try await client.ws(path, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers)) { inbound, outbound, _ in
            await inbox.open()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { await inbox.add(text) }
                    }
                }
                group.addTask {
                    for await text in stream { try await outbound.write(.text(text)) }
                }
                try await group.next()
                group.cancelAll()
            }
        }
        await inbox.close()
    }
}
