import ArgumentParser
import Foundation
import Hummingbird
import KubeStandIn
import OPECLI

/// Kubernetes tools. For now: the stand-in API server, so that kubectl and OPE's client can be tried without a cluster.
struct KubeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube", abstract: "Kubernetes tools (the stand-in API server).", subcommands: [StandIn.self]
    )

    /// `ope kube standin`: a stand-in Kubernetes API server in memory, on a loopback port.
    struct StandIn: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "standin",
            abstract: "Run a stand-in Kubernetes API server in memory (for trying kubectl and OPE's client; not a cluster: it runs no pods).",
            discussion: """
                Point kubectl at it with --kubeconfig FILE (written by --write-kubeconfig) or `kubectl --server http://127.0.0.1:PORT`.
                Example: ope kube standin --port 8001 --apply deploy/kubernetes/crds --write-kubeconfig /tmp/standin.kubeconfig
                """
        )

        @Option(help: "Address to listen on (loopback by default).") var host = "127.0.0.1"
        @Option(help: "Port to listen on (0: a free one, printed at start).") var port = 8001
        @Option(help: "YAML file or folder of YAML files to create at start (CRDs first); repeatable.") var apply: [String] = []
        @Option(help: "Write a kubeconfig for this server to this file once it listens.") var writeKubeconfig: String?

        func run() async throws {
            let server = StandInServer()
            for path in apply {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw CLIError("no such file or folder: \(path)") }
                let files =
                    isFolder.boolValue
                    ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map {
                        path + "/" + $0
                    }
                    : [path]
                for file in files {
                    do { try await server.create(yaml: try String(contentsOfFile: file, encoding: .utf8)) } catch { throw CLIError("\(file): \(error)") }
                }
            }
            let host = self.host
            let kubeconfig = writeKubeconfig
            let app = server.buildApplication(host: host, port: port) { channel in
                let port = channel.localAddress?.port ?? 0
                if let kubeconfig {
                    let text = """
                        apiVersion: v1
                        kind: Config
                        clusters:
                        - name: ope-standin
                          cluster:
                            server: http://\(host):\(port)
                        contexts:
                        - name: ope-standin
                          context:
                            cluster: ope-standin
                            namespace: default
                            user: ope-standin
                        current-context: ope-standin
                        users:
                        - name: ope-standin
                          user:
                            token: standin

                        """
                    try? text.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                }
                printNow("stand-in Kubernetes API server on http://\(host):\(port)")
            }
            try await app.runService()
        }
    }
}
