import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import OPECore
import OPEStore

/// Who made a request and how they proved it.
public struct Identity: Sendable {
    public enum Method: Sendable {
        /// A browser session cookie; state-changing requests must carry its CSRF token.
        case cookie(token: String, csrfToken: String)
        /// An API token in `Authorization: Bearer`; no CSRF token needed (browsers never send it by themselves).
        case bearer(token: String)
    }

    public var user: User
    public var method: Method

    public var csrfToken: String? {
        if case .cookie(_, let csrf) = method { return csrf }
        return nil
    }

    /// The sign-in or token this request came with, as revocations name it.
    public var credential: Credential {
        switch method {
        case .cookie(let token, _): .signIn(username: user.username, cookieToken: token)
        case .bearer(let token): .token(username: user.username, secret: token)
        }
    }
}

/// The request context of every OPE route.
public struct AppRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// Set by ``AuthenticationMiddleware`` when the request carries a valid cookie or token.
    public var identity: Identity?
    /// The peer's IP address, for rate limiting and the sign-in record.
    public let remoteAddress: String?
    /// The event loop of the browser's connection.
    public let eventLoop: any EventLoop
    /// The browser's connection (``UpgradeHandoff`` tells upgrades apart by it).
    let connection: any Channel
    /// A WebSocket upgrade request being checked before the upgrade (``UpgradeRefusalHandler``);
    /// it is decided again for real, so it is not counted in the request metrics.
    var isUpgradeCheck = false
    /// Asks only whether a route matches (``RouteProbeMiddleware``); nothing runs.
    var isRouteProbe = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress?.ipAddress
        eventLoop = source.channel.eventLoop
        connection = source.channel
    }

    /// The signed-in user, or a 401.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw APIError(.unauthorized, "sign in first") }
        return identity
    }

    /// The signed-in user if they are staff (instructor or admin), else 401/403.
    public func requireStaff() throws -> Identity {
        let identity = try requireIdentity()
        guard identity.user.role.isStaff else { throw APIError(.forbidden, "only instructors and admins may do this") }
        return identity
    }

    /// The signed-in user if they are an admin, else 401/403.
    public func requireAdmin() throws -> Identity {
        let identity = try requireIdentity()
        guard identity.user.role == .admin else { throw APIError(.forbidden, "only admins may do this") }
        return identity
    }

    /// Request ids and the user in every log line of this request.
    public var requestLogger: Logger {
        var logger = self.logger
        if let identity { logger[metadataKey: "user"] = "\(identity.user.username)" }
        return logger
    }
}
