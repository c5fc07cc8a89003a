import Logging
extension KubeClient {
    /// Reads the object, applies `change`, and replaces it under the read's resourceVersion; on a
    /// 409 Conflict (someone wrote in between) it reads again and re-applies `change` to what is
    /// there now, up to `attempts` times. It never writes over a version it has not read.
    @discardableResult
    public func update<R: KubeResource>(
        _ type: R.Type, name: String, namespace: String? = nil, attempts: Int = 5, _ change: (inout R) throws -> Void
    ) async throws -> R {
        try await retryingConflicts(attempts: attempts) {
            var object = try await get(R.self, name: name, namespace: namespace)
            try change(&object)
            return try await replace(object)
        }
    }

    /// The same for the status (`/status`): the rest of the object is neither sent nor changed.
    @discardableResult
    public func updateStatus<R: KubeResource>(
        _ type: R.Type, name: String, namespace: String? = nil, attempts: Int = 5, _ change: (inout R) throws -> Void
    ) async throws -> R {
        try await retryingConflicts(attempts: attempts) {
            var object = try await get(R.self, name: name, namespace: namespace)
            try change(&object)
            return try await replaceStatus(object)
        }
    }

    private func retryingConflicts<T>(attempts: Int, _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as KubeAPIError where error.isConflict && attempt < attempts {
                logger.debug("conflict, reading again", metadata: ["attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }
}
