import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OPEGrading
import OPERuntime
import OPEStore
import ServiceLifecycle

/// A core's runtime served to the edges over gRPC (`ope.runtime.v1.Runtime` on HTTP/2): the
/// listening half of `ope serve --role core`, a `Service` in the core's service group.
///
/// The directory core (core 0) also serves the account directory (`ope.runtime.v1.Accounts`).
///
/// Every call must carry `authorization: Bearer <cluster token>`. A graceful shutdown ends the
/// event and revocation subscriptions first (their edges resume from their position, or subscribe
/// again, on another start of this core), then lets the calls in flight finish.
public final class CoreServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// The address to listen on (IPv4, or IPv6 when it holds a colon).
        public var host: String
        /// The port to listen on; 0 lets the system pick one (``CoreServer/port`` tells which).
        public var port: Int
        /// The cluster's shared bearer token.
        public var token: String
        /// Plaintext (loopback, or inside a mesh) or TLS with a certificate chain and key.
        public var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity

        public init(host: String = "0.0.0.0", port: Int = 7070, token: String, transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity = .plaintext) {
            self.host = host
            self.port = port
            self.token = token
            self.transportSecurity = transportSecurity
        }
    }

    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let service: RuntimeGRPCService
    let accountsService: AccountsGRPCService?
    let logger: Logger

    /// - Parameter accounts: The account directory to serve (the core's store) on the directory
    ///   core; nil on the others.
    public init(
        runtime: Runtime, configuration: Configuration, accounts: (any AccountDirectory)? = nil, logger: Logger = Logger(label: "ope.core")
    ) {
        self.logger = logger
        service = RuntimeGRPCService(runtime: runtime, logger: logger)
        let accountsService = accounts.map { AccountsGRPCService(accounts: $0, logger: logger) }
        self.accountsService = accountsService
        var services: [any RegistrableRPCService] = [service]
        if let accountsService { services.append(accountsService) }
        let address: GRPCNIOTransportCore.SocketAddress =
            configuration.host.contains(":")
            ? .ipv6(host: configuration.host, port: configuration.port) : .ipv4(host: configuration.host, port: configuration.port)
        server = GRPCServer(
            transport: .http2NIOPosix(address: address, transportSecurity: configuration.transportSecurity, config: ClusterTransport.server),
            services: services,
            interceptors: [BearerTokenCheck(token: configuration.token, logger: logger)]
        )
    }

    public func run() async throws {
        await service.rememberRecentChats()
        await service.roomStreams.follow(service.runtime)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.server.serve() }
                if let address = try await server.listeningAddress {
                    logger.info("core listening for edges", metadata: ["address": "\(address)"])
                }
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    /// Ends the streams, stops taking calls and ends ``run()`` once calls in flight finish.
    public func beginGracefulShutdown() {
        service.roomStreams.finishAll()
        accountsService?.subscribers.finishAll()
        server.beginGracefulShutdown()
    }

    /// The port the server listens on, once it does.
    public var port: Int {
        get async throws {
            guard let address = try await server.listeningAddress else { throw RuntimeError(.unavailable(retryAfterSeconds: 5), "the core is not listening") }
            if let ipv4 = address.ipv4 { return ipv4.port }
            if let ipv6 = address.ipv6 { return ipv6.port }
            throw RuntimeError(.unavailable(retryAfterSeconds: 5), "the core listens on \(address), not on a TCP port")
        }
    }
}
