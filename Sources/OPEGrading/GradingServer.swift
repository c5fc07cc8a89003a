import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OPECore
import ServiceLifecycle

/// The grading service over gRPC (`ope.grading.v1.Grading` on HTTP/2), as a swift-service-lifecycle
/// `Service`: `ope grade serve` runs it in the grading container of a workspace pod.
///
/// Every call must carry `authorization: Bearer <token>` metadata with the configured token, else
/// it ends with UNAUTHENTICATED before anything runs. A request's mistakes end with
/// INVALID_ARGUMENT naming the field, a second run for a session with FAILED_PRECONDITION, a run
/// over the limit of runs at once with RESOURCE_EXHAUSTED.
public final class GradingServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// The address to listen on (IPv4, or IPv6 when it holds a colon).
        public var host: String
        /// The port to listen on; 0 lets the system pick one (``GradingServer/port`` tells which).
        public var port: Int
        /// The bearer token every call must carry.
        public var token: String
        /// Plaintext, or TLS with a certificate chain and key (`.tls(certificateChain:privateKey:)`).
        public var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity

        public init(host: String = "0.0.0.0", port: Int = 50051, token: String, transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity = .plaintext) {
            self.host = host
            self.port = port
            self.token = token
            self.transportSecurity = transportSecurity
        }
    }

    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let configuration: Configuration
    let logger: Logger

    public init(runner: GradingRunner, configuration: Configuration, logger: Logger = Logger(label: "ope.grading")) {
        self.configuration = configuration
        self.logger = logger
        let address: GRPCNIOTransportCore.SocketAddress =
            configuration.host.contains(":")
            ? .ipv6(host: configuration.host, port: configuration.port) : .ipv4(host: configuration.host, port: configuration.port)
        server = GRPCServer(
            transport: .http2NIOPosix(address: address, transportSecurity: configuration.transportSecurity),
            services: [GradingService(runner: runner)],
            interceptors: [BearerTokenCheck(token: configuration.token, logger: logger)]
        )
    }

    /// Serves until a graceful shutdown (SIGTERM in a ServiceGroup), which lets calls in flight finish.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.server.serve() }
                if let address = try await server.listeningAddress {
                    logger.info("grading service listening on \(Self.describe(address))", metadata: ["address": "\(Self.describe(address))"])
                }
            }
        } onGracefulShutdown: {
            self.server.beginGracefulShutdown()
        }
    }

    /// Stops taking calls and ends ``run()`` once the calls in flight have finished.
    public func beginGracefulShutdown() {
        server.beginGracefulShutdown()
    }

    /// The port the server listens on, once it does (waits for ``run()`` to bind; throws if binding failed).
    public var port: Int {
        get async throws {
            guard let address = try await server.listeningAddress else { throw GradingError(.unavailable, "the grading server is not listening") }
            if let ipv4 = address.ipv4 { return ipv4.port }
            if let ipv6 = address.ipv6 { return ipv6.port }
            throw GradingError(.unavailable, "the grading server listens on \(address), not on a TCP port")
        }
    }

    static func describe(_ address: GRPCNIOTransportCore.SocketAddress) -> String {
        if let ipv4 = address.ipv4 { return "\(ipv4.host):\(ipv4.port)" }
        if let ipv6 = address.ipv6 { return "[\(ipv6.host)]:\(ipv6.port)" }
        return "\(address)"
    }
}

extension GradingServer.Configuration {
    /// Serve TLS with the PEM certificate chain and private key in these files (read when the server starts).
    public mutating func useTLS(certificateChainFile: String, privateKeyFile: String) {
        transportSecurity = .tls(certificateChain: [.file(path: certificateChainFile, format: .pem)], privateKey: .file(path: privateKeyFile, format: .pem))
    }
}

/// `ope.grading.v1.Grading` over a ``GradingRunner``.
struct GradingService: Ope_Grading_V1_Grading.SimpleServiceProtocol {
    let runner: GradingRunner

    func runTests(request: Ope_Grading_V1_RunTestsRequest, context: ServerContext) async throws -> Ope_Grading_V1_RunTestsResponse {
        Ope_Grading_V1_RunTestsResponse(try await runner.run(GradingRequest(request)))
    }

    func check(request: Ope_Grading_V1_CheckRequest, context: ServerContext) async throws -> Ope_Grading_V1_CheckResponse {
        let reason = runner.unreadiness()
        var response = Ope_Grading_V1_CheckResponse()
        response.ready = reason == nil
        response.reason = reason ?? ""
        return response
    }
}

/// Refuses every call that does not carry `authorization: Bearer <the token>` (the grading
/// service's, and the cluster's between edges and cores).
public struct BearerTokenCheck: ServerInterceptor {
    let expected: [UInt8]
    let logger: Logger

    public init(token: String, logger: Logger) {
        expected = Array("Bearer \(token)".utf8)
        self.logger = logger
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let given = Array(request.metadata[stringValues: "authorization"])
        guard given.count == 1, Self.same(Array(given[0].utf8), expected) else {
            logger.warning(
                "refused a call without the right token", metadata: ["method": "\(context.descriptor.fullyQualifiedMethod)", "peer": "\(context.remotePeer)"])
            throw RPCError(
                code: .unauthenticated,
                message: given.isEmpty ? "no authorization metadata: send `authorization: Bearer <token>`" : "the bearer token is not this service's")
        }
        return try await next(request, context)
    }

    /// Compares in time that depends on the lengths only, not on where the bytes differ.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

extension GradingError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch kind {
        case .invalidArgument: .invalidArgument
        case .unauthenticated: .unauthenticated
        case .sessionBusy: .failedPrecondition
        case .atCapacity: .resourceExhausted
        case .unavailable: .unavailable
        case .deadlineExceeded: .deadlineExceeded
        case .failed: .internalError
        }
    }

    public var rpcErrorMessage: String { message }

    /// The kind a status code from the grading service stands for.
    init(_ error: RPCError) {
        let kind: Kind =
            switch error.code {
            case .invalidArgument: .invalidArgument
            case .unauthenticated: .unauthenticated
            case .failedPrecondition: .sessionBusy
            case .resourceExhausted: .atCapacity
            case .unavailable: .unavailable
            case .deadlineExceeded: .deadlineExceeded
            default: .failed
            }
        self.init(kind, error.message)
    }
}
