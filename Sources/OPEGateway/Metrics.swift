import Metrics
import Prometheus

/// The process-wide Prometheus registry behind `/metrics`.
public enum OPEMetrics {
    /// The registry every metric of this process goes to.
    public static let registry = PrometheusCollectorRegistry()

    /// Points swift-metrics at ``registry`` (once per process; later calls do nothing).
    public static func bootstrap() {
        _ = bootstrapped
    }

    private static let bootstrapped: Bool = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Prometheus names allow only [a-zA-Z0-9_:]; libraries use dots (`http.server.request.duration`).
        factory.nameAndLabelSanitizer = { name, labels in
            (sanitize(name), labels.map { (sanitize($0.0), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
        return true
    }()

    /// Every metric in Prometheus' text format (what `/metrics` answers).
    public static func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    static func sanitize(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
    }
}
