import Logging

extension KubeClient {
    /// Reads the object, applies `change`, and replaces it under the read's resourceVersion; on a
    /// 409 Conflict (someone wrote in between) it reads again and re-applies `change` to what is
    /// there now, up to `attempts` times. It never writes over a version it has not read.
    @discardableResult
    public func update<R: KubeResource>(
        _ type: R.Type, name: String, namespace: String? = nil, attempts: Int = 5, _ change: (inout R) throws -> Void
    ) async throws -> R {
        try await readChangeWrite(name: name, namespace: namespace, attempts: attempts, change) { try await self.replace($0) }
    }

    /// The same for the status (`/status`): the rest of the object is neither sent nor changed.
    @discardableResult
    public func updateStatus<R: KubeResource>(
        _ type: R.Type, name: String, namespace: String? = nil, attempts: Int = 5, _ change: (inout R) throws -> Void
    ) async throws -> R {
        try await readChangeWrite(name: name, namespace: namespace, attempts: attempts, change) { try await self.replaceStatus($0) }
    }

    /// Get, `change`, `write`; again from the get on a 409, up to `attempts` times.
    private func readChangeWrite<R: KubeResource>(
        name: String, namespace: String?, attempts: Int, _ change: (inout R) throws -> Void, write: (R) async throws -> R
    ) async throws -> R {
        var attempt = 1
        while true {
            do {
                var object = try await get(R.self, name: name, namespace: namespace)
                try change(&object)
                return try await write(object)
            } catch let error as KubeAPIError where error.isConflict && attempt < attempts {
                logger.debug("conflict, reading again", metadata: ["attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }
}
