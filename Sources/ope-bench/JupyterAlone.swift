import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OPECLI
import OPECore
import OPEStore

/// JupyterLab started by hand, the way a person runs it on their own machine: the baseline for
/// time-to-workspace (OPE's target is JupyterLab's own start plus 0.5 s).
enum JupyterAlone {
    /// Seconds from starting `jupyter-lab` of `venv` (in a fresh folder, on a free port) until
    /// its `/api/status` answers 200; the server is stopped afterwards.
    static func startSeconds(venv: String, folder: String) async throws -> Double {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let port = try LoopbackPort.free()
        let token = SecretToken.password()
        var arguments = [
            "--no-browser", "--ip=127.0.0.1", "--port=\(port)", "--ServerApp.root_dir=\(folder)", "--IdentityProvider.token=\(token)",
        ]
        if geteuid() == 0 { arguments.append("--allow-root") }
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = folder
        environment["JUPYTER_RUNTIME_DIR"] = folder + "/.runtime"
        let started = ContinuousClock.now
        let process = try ChildProcess(venv + "/bin/jupyter-lab", arguments: arguments, environment: environment)
        defer {
            process.signal(SIGTERM)
            process.blockUntilExit(within: .seconds(30))
        }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/status")
        request.headers.add(name: "Authorization", value: "token \(token)")
        let deadline = started + .seconds(120)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw CLIError("jupyter-lab of \(venv) exited with status \(process.exitStatus ?? -1)") }
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(5)), response.status == .ok {
                return (ContinuousClock.now - started).timeInterval
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CLIError("jupyter-lab of \(venv) did not answer within 120 s")
    }
}
