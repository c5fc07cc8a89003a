import Foundation

/// A core's address as the command line gives it: `HOST:PORT`, or `[IPv6]:PORT`.
public struct ClusterAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `HOST:PORT`; the error says what is wrong with the text, in words.
    public init(parsing text: String) throws(ClusterConfigurationError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]), (1...65535).contains(port) else {
            throw ClusterConfigurationError("'\(text)' is not HOST:PORT (a core's address, e.g. ope-core-0.ope-core:7070)")
        }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ClusterConfigurationError("'\(text)' names no host") }
        self.init(host: host, port: port)
    }

    /// A comma-separated list, in core order.
    public static func parseList(_ text: String) throws(ClusterConfigurationError) -> [ClusterAddress] {
        let parts = text.split(separator: ",").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !parts.isEmpty else { throw ClusterConfigurationError("no core addresses given") }
        var addresses: [ClusterAddress] = []
        for part in parts { addresses.append(try ClusterAddress(parsing: part)) }
        return addresses
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A cluster setting that cannot work, in words.
public struct ClusterConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
