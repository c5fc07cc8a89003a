import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1

/// What a ``ListWatcher`` reports.
public enum ListWatchEvent<R: KubeResource>: Sendable {
    /// A full list: replace everything known with these (first, and after every relist).
    case listed([R], resourceVersion: String)
    case added(R)
    case modified(R)
    case deleted(R)
}

/// List, then watch from the list's resource version; resume a closed or broken watch from the
/// last version seen (bookmarks move it on too); relist when the server answers 410 Gone.
/// A consumer that applies every event to a map of objects holds what the server holds, with no
/// change missed: the informer's reflector, as a pull-based sequence (no task, no buffer).
public struct ListWatcher<R: KubeResource>: AsyncSequence, Sendable {
    public typealias Element = ListWatchEvent<R>
    public var client: KubeClient
    public var namespace: String?
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Pause after a failure before trying again (doubling up to its maximum; reset by success).
    public var backoff: RetryPolicy

    public init(
        client: KubeClient, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        backoff: RetryPolicy = RetryPolicy(maxAttempts: .max)
    ) {
        self.client = client
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.backoff = backoff
    }

    public func makeAsyncIterator() -> Iterator { Iterator(watcher: self) }

    public struct Iterator: AsyncIteratorProtocol {
        let watcher: ListWatcher
        /// The last resource version seen; nil: list first.
        public private(set) var resourceVersion: String?
        var stream: WatchStream<R>.Iterator?
        var failures = 0

        init(watcher: ListWatcher) { self.watcher = watcher }

        public mutating func next() async throws -> ListWatchEvent<R>? {
            while !Task.isCancelled {
                do {
                    guard let version = resourceVersion else {
                        let list = try await watcher.client.listAll(
                            R.self, namespace: watcher.namespace, labelSelector: watcher.labelSelector, fieldSelector: watcher.fieldSelector)
                        resourceVersion = list.resourceVersion
                        failures = 0
                        return .listed(list.items, resourceVersion: list.resourceVersion)
                    }
                    if stream == nil {
                        stream = try await watcher.client.watch(
                            R.self, namespace: watcher.namespace, resourceVersion: version, labelSelector: watcher.labelSelector,
                            fieldSelector: watcher.fieldSelector, allowBookmarks: true
                        ).makeAsyncIterator()
                    }
                    guard let event = try await stream?.next() else {
                        // The server closed the watch (timeout, restart): resume where it stopped.
                        stream = nil
                        continue
                    }
                    failures = 0
                    switch event {
                    case .bookmark(let version):
                        if !version.isEmpty { resourceVersion = version }
                    case .added(let object):
                        resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                        return .added(object)
                    case .modified(let object):
                        resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                        return .modified(object)
                    case .deleted(let object):
                        resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                        return .deleted(object)
                    }
                } catch let error as KubeAPIError where error.isExpired {
                    // Too old: what happened since is gone from the server's history, so list again.
                    watcher.client.logger.debug("watch expired, relisting", metadata: ["resource": "\(R.resource.plural)"])
                    stream = nil
                    resourceVersion = nil
                } catch is CancellationError {
                    return nil
                } catch {
                    stream = nil
                    failures += 1
                    let delay = watcher.backoff.delay(afterAttempt: failures, retryAfterSeconds: (error as? KubeAPIError)?.retryAfterSeconds)
                    watcher.client.logger.debug("watch failed, retrying", metadata: ["error": "\(error)", "delay": "\(delay)"])
                    try await Task.sleep(for: delay)
                }
            }
            return nil
        }
    }
}
