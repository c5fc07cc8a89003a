import Foundation
import NIOSSL
import Yams

/// How to reach an API server: its URL, how to authenticate, and which CA to trust.
public struct ClusterConnection: Sendable {
    public var server: String
    /// The namespace to use when a call names none.
    public var namespace: String
    /// A bearer token, or a file to read it from on every request (bound service-account tokens rotate).
    public var token: String?
    public var tokenFile: String?
    /// PEM of the CA that signed the server's certificate; nil: the system's trust roots.
    public var certificateAuthorityPEM: String?
    /// PEM client certificate and key (kubeconfigs of kind, minikube and the like).
    public var clientCertificatePEM: String?
    public var clientKeyPEM: String?
    public var insecureSkipTLSVerify = false

    public init(server: String, namespace: String = "default", token: String? = nil) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.namespace = namespace
        self.token = token
    }

    /// Inside a pod: the service's environment variables and the mounted service-account token, CA and namespace.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment, folder: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws -> ClusterConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw KubeClientError("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        let namespace = (try? String(contentsOfFile: folder + "/namespace", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "default"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var connection = ClusterConnection(server: "https://\(hostPart):\(port)", namespace: namespace)
        connection.tokenFile = folder + "/token"
        connection.certificateAuthorityPEM = try String(contentsOfFile: folder + "/ca.crt", encoding: .utf8)
        return connection
    }

    /// Where a command reaches its cluster: the kubeconfig given; else, inside a pod, its service
    /// account; else `$KUBECONFIG` or `~/.kube/config`.
    public static func resolve(kubeconfig file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ClusterConnection {
        if let file { return try kubeconfig(file: file) }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment) }
        return try kubeconfig()
    }

    /// The current context of a kubeconfig file (`$KUBECONFIG`'s first file, else `~/.kube/config`), or the named context.
    public static func kubeconfig(file: String? = nil, context: String? = nil) throws -> ClusterConnection {
        let environment = ProcessInfo.processInfo.environment
        let path = file ?? environment["KUBECONFIG"]?.split(separator: ":").first.map(String.init) ?? (NSHomeDirectory() + "/.kube/config")
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw KubeClientError("cannot read the kubeconfig \(path): \(error.localizedDescription)")
        }
        return try kubeconfig(yaml: text, context: context, folder: (path as NSString).deletingLastPathComponent)
    }

    /// Parses kubeconfig text; relative file paths in it are relative to `folder`.
    public static func kubeconfig(yaml text: String, context wanted: String? = nil, folder: String = ".") throws -> ClusterConnection {
        guard let root = try Yams.load(yaml: text) as? [String: Any] else { throw KubeClientError("the kubeconfig is not a YAML mapping") }
        func named(_ key: String, _ name: String) -> [String: Any]? {
            (root[key] as? [[String: Any]])?.first { $0["name"] as? String == name }
        }
        guard let contextName = wanted ?? root["current-context"] as? String, !contextName.isEmpty else {
            throw KubeClientError("the kubeconfig has no current-context; name one")
        }
        guard let context = named("contexts", contextName)?["context"] as? [String: Any] else {
            throw KubeClientError("the kubeconfig has no context \"\(contextName)\"")
        }
        guard let clusterName = context["cluster"] as? String, let cluster = named("clusters", clusterName)?["cluster"] as? [String: Any],
            let server = cluster["server"] as? String
        else { throw KubeClientError("context \"\(contextName)\" names no cluster with a server") }
        func file(_ path: String) throws -> String {
            let full = path.hasPrefix("/") ? path : folder + "/" + path
            return try String(contentsOfFile: full, encoding: .utf8)
        }
        func base64(_ value: String) throws -> String {
            guard let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8) else {
                throw KubeClientError("bad base64 data in the kubeconfig")
            }
            return text
        }
        var connection = ClusterConnection(server: server, namespace: context["namespace"] as? String ?? "default")
        connection.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"] as? Bool ?? false
        if let data = cluster["certificate-authority-data"] as? String {
            connection.certificateAuthorityPEM = try base64(data)
        } else if let path = cluster["certificate-authority"] as? String {
            connection.certificateAuthorityPEM = try file(path)
        }
        if let userName = context["user"] as? String, let user = named("users", userName)?["user"] as? [String: Any] {
            connection.token = user["token"] as? String
            if let path = user["tokenFile"] as? String { connection.tokenFile = path.hasPrefix("/") ? path : folder + "/" + path }
            if let data = user["client-certificate-data"] as? String {
                connection.clientCertificatePEM = try base64(data)
            } else if let path = user["client-certificate"] as? String {
                connection.clientCertificatePEM = try file(path)
            }
            if let data = user["client-key-data"] as? String {
                connection.clientKeyPEM = try base64(data)
            } else if let path = user["client-key"] as? String {
                connection.clientKeyPEM = try file(path)
            }
            if user["exec"] != nil || user["auth-provider"] != nil, connection.token == nil, connection.clientCertificatePEM == nil {
                throw KubeClientError(
                    "user \"\(userName)\" authenticates through an exec plugin or auth provider, which OPE's client does not run; use a token or client certificate"
                )
            }
        }
        return connection
    }

    /// The TLS configuration for an https server: the CA to trust and the client certificate.
    func tlsConfiguration() throws -> TLSConfiguration? {
        guard server.hasPrefix("https://") else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let pem = certificateAuthorityPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
        }
        if insecureSkipTLSVerify { tls.certificateVerification = .none }
        if let certificate = clientCertificatePEM, let key = clientKeyPEM {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
        }
        return tls
    }

    /// The bearer token to send now.
    func currentToken() -> String? {
        if let tokenFile, let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return token
    }
}
