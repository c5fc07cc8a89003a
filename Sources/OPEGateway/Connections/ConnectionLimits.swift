/// How both HTTP servers (the platform's port and the workspace origin's) treat slow, idle and
/// numerous connections, so that no client can hold the server by opening sockets and saying
/// little (`ope serve --header-timeout`, `--read-timeout`, `--max-connections-per-address`,
/// `--shutdown-grace`; see docs/security.md).
public struct ConnectionLimits: Sendable {
    /// A new connection must have sent a whole request head (request line and headers) this long
    /// after it opened, or it is closed. Later requests on a kept-alive connection fall under
    /// ``readTimeout``.
    public var headerTimeout: Duration = .seconds(20)
    /// A connection that sends nothing for this long is closed: in the middle of a request, or
    /// between requests on a kept-alive connection. It does not apply while an answer is being
    /// written, nor to open WebSockets (they have their own pings).
    public var readTimeout: Duration = .seconds(60)
    /// Connections one IP address may hold open at once; more are closed as they arrive. Nil
    /// means no limit.
    public var perAddress: Int? = 512
    /// Loopback callers are not counted: a reverse proxy on this machine brings everybody's
    /// connections from 127.0.0.1 (it must bound them itself).
    public var exemptLoopback = true
    /// After a shutdown starts (SIGTERM), connections still open this long are closed: idle ones
    /// and those waiting for a request at once, answers in flight get this long to finish.
    public var shutdownGrace: Duration = .seconds(10)

    public init() {}
}
