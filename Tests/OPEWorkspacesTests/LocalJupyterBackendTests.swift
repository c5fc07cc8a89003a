import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OPECore
import OPEModules
import OPEWorkspaces
import Testing

/// Real JupyterLab processes from the project's virtualenv.
@Suite(.serialized) struct LocalJupyterBackendTests {
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static var venv: String {
        get throws {
            let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? packageRoot + "/.venv"
            guard FileManager.default.isExecutableFile(atPath: venv + "/bin/jupyter-lab") else {
                throw WorkspaceError("no JupyterLab in \(venv): run scripts/setup-venv.sh (make test does)")
            }
            return venv
        }
    }

    func get(_ url: String, token: String?) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "token \(token)") }
        request.headers.add(name: "Host", value: "localhost")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: body))
    }

    /// The sandbox `ope serve` would make for workspaces under `root`.
    static func sandbox(_ root: String) async throws -> Sandbox {
        let tag = Sandbox.tag(for: root)
        return try await Sandbox.make(Sandbox.Configuration(runtimeRoot: Sandbox.defaultRuntimeRoot(tag: tag)), tag: tag)
    }

    func isListening(_ url: String) async -> Bool {
        (try? await get(url + "api/status", token: nil)) != nil
    }

    @Test func startsSeedsAndStopsAJupyterLabPerSession() async throws {
        let root = NSTemporaryDirectory() + "ope-workspaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/python-intro")
        let backend = LocalJupyterBackend(configuration: .init(venv: try Self.venv, root: root, sandbox: try await Self.sandbox(root)))
        let workspace = try await backend.start(WorkspaceRequest(session: "s-test", module: module))
        // On a unix socket in the sandbox's private runtime folder, not on a port anyone could try.
        #expect(workspace.url.hasPrefix("http+unix://"))
        #expect(workspace.url.hasSuffix("/w/s-test/"))
        let socket = try #require(workspace.socketPath)
        #expect(FileManager.default.fileExists(atPath: socket))
        // The token is on no command line on this machine.
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int(entry) != nil {
            guard let commandLine = ProcFile.data("/proc/\(entry)/cmdline") else { continue }
            #expect(!String(decoding: commandLine, as: UTF8.self).contains(workspace.token), "the token is on the command line of process \(entry)")
        }

        // The token is required, and the starter files are there.
        #expect(try await get(workspace.url + "api/contents", token: nil).status == 403)
        let contents = try await get(workspace.url + "api/contents", token: workspace.token)
        #expect(contents.status == 200)
        for file in module.tasks.flatMap(\.starterFiles) { #expect(contents.body.contains("\"\(file)\""), "\(file) missing") }

        // The group's edits survive a restart; starter files do not overwrite them.
        try "def word_count(text):\n    return 42\n".write(toFile: workspace.directory + "/text_stats.py", atomically: true, encoding: .utf8)
        await backend.stop(session: "s-test")
        #expect(await !isListening(workspace.url), "JupyterLab still answers after stop")
        #expect(await backend.workspace(session: "s-test") == nil)
        let again = try await backend.start(WorkspaceRequest(session: "s-test", module: module))
        let edited = try await get(again.url + "api/contents/text_stats.py?content=1", token: again.token)
        #expect(edited.body.contains("return 42"))
        await backend.stopAll()
        #expect(!TeamVolume.isMountPoint(root + "/s-test"), "the team's volume is still mounted after shutdown")
    }

    /// A session that ends while its workspace is still being set up (its volume being made and
    /// mounted) leaves no volume mounted, whichever of the two finishes first.
    @Test func aSessionEndedDuringItsStartLeavesNoVolumeMounted() async throws {
        let root = NSTemporaryDirectory() + "ope-workspaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/python-intro")
        let sandbox = try await Self.sandbox(root)
        let volumes = sandbox.host?.volumes == true
        let backend = LocalJupyterBackend(configuration: .init(venv: try Self.venv, root: root, sandbox: sandbox))
        let starting = Task { try await backend.start(WorkspaceRequest(session: "s-ended", module: module)) }
        // The image exists from the moment the volume is being made, before it is mounted.
        let deadline = ContinuousClock.now + .seconds(60)
        while volumes, !FileManager.default.fileExists(atPath: root + "/s-ended.img"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        await backend.finish(session: "s-ended")
        _ = try? await starting.value
        #expect(!TeamVolume.isMountPoint(root + "/s-ended"), "the ended session's volume is still mounted")
        #expect(await backend.workspace(session: "s-ended") == nil)
        await backend.stopAll()
    }

    @Test func aJupyterLabThatExitsAtStartIsReportedAndNothingIsLeft() async throws {
        let root = NSTemporaryDirectory() + "ope-workspaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let venv = root + "/broken-venv"
        try FileManager.default.createDirectory(atPath: venv + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'cannot start: broken install' >&2\nexit 3\n".write(toFile: venv + "/bin/jupyter-lab", atomically: true, encoding: .utf8)
        chmod(venv + "/bin/jupyter-lab", 0o755)
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/python-intro")
        let backend = LocalJupyterBackend(configuration: .init(venv: venv, root: root + "/ws", sandbox: try await Self.sandbox(root)))
        do {
            _ = try await backend.start(WorkspaceRequest(session: "s-broken", module: module))
            Issue.record("a JupyterLab that exits should not count as started")
        } catch let error as WorkspaceError {
            #expect(error.description.contains("exited at start (status 3)"))
            #expect(error.description.contains("cannot start: broken install"))
        }
        #expect(await backend.workspace(session: "s-broken") == nil)
        await backend.stopAll()
    }

    @Test func aJupyterLabThatNeverAnswersTimesOutAndIsKilled() async throws {
        let root = NSTemporaryDirectory() + "ope-workspaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let venv = root + "/hanging-venv"
        // A sleep no other test runs, to look for it afterwards (it runs in the sandbox's own pid namespace).
        let marker = 600 + Int.random(in: 1...399)
        try FileManager.default.createDirectory(atPath: venv + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho started > \"$HOME/hang.started\"\nexec sleep \(marker)\n".write(
            toFile: venv + "/bin/jupyter-lab", atomically: true, encoding: .utf8)
        chmod(venv + "/bin/jupyter-lab", 0o755)
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/python-intro")
        let backend = LocalJupyterBackend(
            configuration: .init(venv: venv, root: root + "/ws", sandbox: try await Self.sandbox(root), readyTimeout: .seconds(2)))
        await #expect(throws: WorkspaceError.self) { _ = try await backend.start(WorkspaceRequest(session: "s-hang", module: module)) }
        #expect(FileManager.default.fileExists(atPath: root + "/ws/s-hang/hang.started"), "the fake JupyterLab never ran")
        let left = try await CommandRunner().run(["pgrep", "-f", "sleep \(marker)"], timeout: .seconds(5))
        #expect(left.status == 1, "the hanging process is still alive: \(left.output)")
        await backend.stopAll()
    }
}
