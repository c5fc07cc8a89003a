import Foundation
import OPECore
import Testing

/// The whole journey in real Chromium (Debian's chromium + chromedriver, driven by selenium from
/// the venv) against a real `ope serve` with JupyterLab workspaces: `scripts/e2e_browser.py`.
/// Screenshots of every page it visits are kept in `.build/e2e-artifacts/`.
@Suite struct BrowserJourneyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test(.timeLimit(.minutes(10))) func twoParticipantsAndAnInstructorInChromium() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/install-deps.sh (make test does)")
        }
        let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? Self.repository + "/.venv"
        try #require(FileManager.default.isExecutableFile(atPath: venv + "/bin/python"), "no virtualenv at \(venv): run scripts/setup-venv.sh (make test does)")
        let data = temporaryFolder("ope-browser")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let artifacts = Self.repository + "/.build/e2e-artifacts"
        try? FileManager.default.removeItem(atPath: artifacts)
        let control = data + "/control"
        try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: true)
        let port = try LoopbackPort.free()
        // Workspaces on their own origin, as `ope serve` does by default (there: the next port).
        let workspacePort = try LoopbackPort.free()
        let arguments = [
            "serve", "--port", "\(port)", "--workspace-port", "\(workspacePort)", "--data", data, "--modules", Self.repository + "/examples/modules", "--venv",
            venv, "--warm-pool", "1", "--modules", try Self.lobbyWaitModule(in: data),
        ]
        var server = try OPEProcess.start(arguments)
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        try await server.waitFor("bob")

        async let run = OPEProcess.runProgram(
            venv + "/bin/python",
            [
                Self.repository + "/scripts/e2e_browser.py", "--base-url", "http://127.0.0.1:\(port)", "--credentials", data + "/initial-credentials.txt",
                "--artifacts", artifacts, "--control-dir", control,
            ],
            timeout: .seconds(540)
        )
        // The script asks for a server restart mid-journey; the pages must ride it out.
        let deadline = ContinuousClock.now + .seconds(300)
        while !FileManager.default.fileExists(atPath: control + "/restart-requested"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        if FileManager.default.fileExists(atPath: control + "/restart-requested") {
            server.signal(SIGTERM)
            #expect(try await server.waitForExit(timeout: .seconds(30)) == 0)
            // Its ports are free at once: the server binds with SO_REUSEADDR.
            server = try OPEProcess.start(arguments)
            try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
            FileManager.default.createFile(atPath: control + "/restarted", contents: Data())
        }
        let journey = try await run
        defer { server.signal(SIGTERM) }
        let summary = journey.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(journey.status == 0, "the browser journey failed: \(summary)\n\(journey.stdout)\n\(journey.stderr.suffix(3000))")
        #expect(summary.contains("\"ok\": true"))
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: artifacts).filter { $0.hasSuffix(".png") }) ?? []
        #expect(screenshots.count >= 10, "screenshots of every page visited: \(screenshots.sorted())")
        server.signal(SIGTERM)
        _ = try await server.waitForExit(timeout: .seconds(30))
    }

    /// A module whose lobby gives up after 20 s (teams of two only), so the journey sees the lobby
    /// give up without waiting the example modules' five minutes. Returns its modules folder.
    static func lobbyWaitModule(in data: String) throws -> String {
        let folder = data + "/journey-modules"
        try FileManager.default.createDirectory(atPath: folder + "/lobby-wait", withIntermediateDirectories: true)
        let yaml = """
            id: lobby-wait
            title: "Lobby check (browser journey only)"
            kit: python
            group: {min: 2, target: 2, max: 2}
            matching: {settle: 5s, giveUp: 20s}
            tasks:
              - id: wait
                title: Wait
                instructions: Nothing to do.
            """
        try yaml.write(toFile: folder + "/lobby-wait/module.yaml", atomically: true, encoding: .utf8)
        return folder
    }
}
