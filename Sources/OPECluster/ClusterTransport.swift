import GRPCNIOTransportHTTP2

/// The HTTP/2 settings every connection between edges and cores uses, in one place.
///
/// grpc-swift's transport delays each flush by up to 100 µs to gather writes (flush
/// coalescing). The room stream already gathers what queues while a write is on the wire, and at
/// a class's pace (a message every few milliseconds per stream) nothing else arrives within 100
/// µs. The delay then only costs a timer and a second wake-up of the event loop for every
/// message, on both ends of both legs, so it is off.
enum ClusterTransport {
    static var client: HTTP2ClientTransport.Posix.Config {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.connection.flushCoalescing = nil
        return config
    }

    static var server: HTTP2ServerTransport.Posix.Config {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.connection.flushCoalescing = nil
        return config
    }
}
