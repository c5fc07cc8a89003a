import Foundation
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
        let port = try freePort()
        let server = try OPEProcess.start([
            "serve", "--port", "\(port)", "--data", data, "--modules", Self.repository + "/examples/modules", "--venv", venv, "--warm-pool", "1",
        ])
        defer { server.signal(SIGTERM) }
        try await server.waitFor("OPE is running at http://127.0.0.1:\(port)")
        try await server.waitFor("bob")

        let journey = try await OPEProcess.runProgram(
            venv + "/bin/python",
            [
                Self.repository + "/scripts/e2e_browser.py", "--base-url", "http://127.0.0.1:\(port)", "--credentials", data + "/initial-credentials.txt",
                "--artifacts", artifacts,
            ],
            timeout: .seconds(540)
        )
        let summary = journey.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(journey.status == 0, "the browser journey failed: \(summary)\n\(journey.stdout)\n\(journey.stderr.suffix(3000))")
        #expect(summary.contains("\"ok\": true"))
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: artifacts).filter { $0.hasSuffix(".png") }) ?? []
        #expect(screenshots.count >= 10, "screenshots of every page visited: \(screenshots.sorted())")
        server.signal(SIGTERM)
        _ = try await server.waitForExit(timeout: .seconds(30))
    }
}
