import Foundation
import OPECore
import Testing

/// Enforced roles in real Chromium against a real `ope serve` (`scripts/e2e_roles.py`): the team's
/// notebook opens by itself, bob (navigator) is told he is read-only and why and his typing
/// changes nothing, alice's edit reaches him live, names show in JupyterLab, and a rotation moves
/// the keyboard without a reload. Screenshots go to `.build/e2e-artifacts/roles-*`.
@Suite struct RolesJourneyTests {
    @Test(.timeLimit(.minutes(10))) func onlyTheDriverTypesAndRotationMovesTheKeyboard() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/install-deps.sh (make test does)")
        }
        let repository = BrowserJourneyTests.repository
        let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? repository + "/.venv"
        try #require(FileManager.default.isExecutableFile(atPath: venv + "/bin/python"), "no virtualenv at \(venv): run scripts/setup-venv.sh (make test does)")
        let data = temporaryFolder("ope-roles")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let artifacts = repository + "/.build/e2e-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let port = try LoopbackPort.free()
        let workspacePort = try LoopbackPort.free()
        let server = try OPEProcess.start([
            "serve", "--port", "\(port)", "--workspace-port", "\(workspacePort)", "--data", data, "--modules", try Self.enforcedModule(in: data),
            "--venv", venv,
        ])
        defer { server.signal(SIGTERM) }
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        try await server.waitFor("bob")
        let journey = try await OPEProcess.runProgram(
            venv + "/bin/python",
            [
                repository + "/scripts/e2e_roles.py", "--base-url", "http://127.0.0.1:\(port)", "--credentials", data + "/initial-credentials.txt",
                "--artifacts", artifacts,
            ],
            timeout: .seconds(540)
        )
        let summary = journey.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(journey.status == 0, "the roles journey failed: \(summary)\n\(journey.stdout)\n\(journey.stderr.suffix(3000))")
        #expect(summary.contains("\"ok\": true"))
        server.signal(SIGTERM)
        _ = try await server.waitForExit(timeout: .seconds(30))
    }

    /// python-intro as `roles-check`: a pair (driver, navigator) with `enforce: driver-edits`, no bot.
    static func enforcedModule(in data: String) throws -> String {
        let folder = data + "/roles-modules"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: BrowserJourneyTests.repository + "/examples/modules/python-intro", toPath: folder + "/roles-check")
        let file = folder + "/roles-check/module.yaml"
        let yaml = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: "id: python-intro", with: "id: roles-check")
            .replacingOccurrences(of: "roles: [driver, navigator, researcher]", with: "roles: {names: [driver, navigator], enforce: driver-edits}")
            .replacingOccurrences(of: "lateJoinRole: researcher", with: "lateJoinRole: navigator")
            .replacingOccurrences(of: "plan: bot/guide.yaml\n", with: "")
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return folder
    }
}
