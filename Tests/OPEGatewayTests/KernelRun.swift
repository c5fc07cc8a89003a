import Foundation
import OPECore

/// Participant code through the proxy: `scripts/kernel_run.py` runs it in a new kernel of a
/// session's workspace, as a student's notebook would.
enum KernelRun {
    /// Runs `code` in a new kernel of `session`'s workspace through the proxy, with `token`'s rights;
    /// with `keep` the kernel (and what the code left open) stays.
    static func run(_ code: String, in session: String, port: Int, token: String, keep: Bool = false) async throws -> [String: Any] {
        var arguments = [
            try TestGateway.venv + "/bin/python", WorkspaceTests.packageRoot + "/scripts/kernel_run.py", "--base-url",
            "http://127.0.0.1:\(port)/w/\(session)/", "--header", "Authorization: Bearer \(token)", "--timeout", "120", "--code", code,
        ]
        if keep { arguments.append("--keep") }
        let result = try await CommandRunner().run(arguments, separateErrorOutput: true, timeout: .seconds(240))
        guard result.succeeded, let line = result.output.split(separator: "\n").last,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw RoomTestError("kernel_run failed (\(result.statusText)): \(result.output)\n\(result.errorOutput)") }
        return object
    }
}
