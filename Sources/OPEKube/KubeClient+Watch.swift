import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OPECore

extension KubeClient {
    /// Opens a watch: the changes after `resourceVersion` (nil: every object as ADDED first, then the
    /// changes). The stream ends when the server closes the watch; resume from the last version seen.
    /// A version older than the server's history is a ``KubeAPIError`` with ``KubeAPIError/isExpired``
    /// (whether the server says so with a 410 answer or, as the real one does, an ERROR event).
    public func watch<R: KubeResource>(
        _ type: R.Type, namespace: String? = nil, resourceVersion: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        allowBookmarks: Bool = true, timeoutSeconds: Int? = nil
    ) async throws -> WatchStream<R> {
        var query: [(String, String)] = [("watch", "true")]
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let timeoutSeconds { query.append(("timeoutSeconds", String(timeoutSeconds))) }
        let path = R.resource.path(namespace: resolved(namespace, R.self, all: true))
        let response = try await http.execute(request(.GET, path, query: query), timeout: .hours(24))
        guard response.status.code == 200 else {
            let data = Data((try await response.body.collect(upTo: 1 << 20)).readableBytesView)
            throw Self.error(response.status.code, data, response.headers)
        }
        return WatchStream(body: response.body)
    }
}

/// The events of one watch, read line by line from the response as they arrive (nothing is buffered
/// beyond the line being read).
public struct WatchStream<R: KubeResource>: AsyncSequence, Sendable {
    public typealias Element = WatchEvent<R>
    let body: HTTPClientResponse.Body

    public func makeAsyncIterator() -> Iterator { Iterator(bytes: body.makeAsyncIterator()) }

    public struct Iterator: AsyncIteratorProtocol {
        var bytes: HTTPClientResponse.Body.AsyncIterator
        var pending = ByteBuffer()

        public mutating func next() async throws -> WatchEvent<R>? {
            while true {
                if let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let length = newline - pending.readerIndex
                    let line = pending.readData(length: length) ?? Data()
                    pending.moveReaderIndex(forwardBy: 1)
                    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                    return try Self.event(line)
                }
                guard var chunk = try await bytes.next() else {
                    guard pending.readableBytes > 0 else { return nil }
                    let line = pending.readData(length: pending.readableBytes) ?? Data()
                    pending.clear()
                    return try Self.event(line)
                }
                pending.discardReadBytes()
                pending.writeBuffer(&chunk)
            }
        }

        struct Header: Decodable {
            var type: String
            var object: Status?
            struct Status: Decodable {
                var code: Int?
                var reason: String?
                var message: String?
                var metadata: Metadata?
            }
            struct Metadata: Decodable { var resourceVersion: String? }
        }

        struct Wrapped: Decodable { var object: R }

        static func event(_ line: Data) throws -> WatchEvent<R> {
            let header: Header
            do { header = try KubeClient.decoder.decode(Header.self, from: line) } catch {
                throw KubeClientError("a watch event that is not JSON: \(String(decoding: line.prefix(200), as: UTF8.self))")
            }
            switch header.type {
            case "ADDED": return .added(try KubeClient.decoder.decode(Wrapped.self, from: line).object)
            case "MODIFIED": return .modified(try KubeClient.decoder.decode(Wrapped.self, from: line).object)
            case "DELETED": return .deleted(try KubeClient.decoder.decode(Wrapped.self, from: line).object)
            case "BOOKMARK": return .bookmark(resourceVersion: header.object?.metadata?.resourceVersion ?? "")
            case "ERROR":
                throw KubeAPIError(
                    code: header.object?.code ?? 500, reason: header.object?.reason ?? "Unknown", message: header.object?.message ?? "watch error")
            default: throw KubeClientError("unknown watch event type \(header.type)")
            }
        }
    }
}
