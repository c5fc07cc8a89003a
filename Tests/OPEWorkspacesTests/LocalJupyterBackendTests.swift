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
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: body))
    }

    func isListening(_ url: String) async -> Bool {
        (try? await get(url + "api/status", token: nil)) != nil
    }

    @Test func startsSeedsAndStopsAJupyterLabPerSession() async throws {
        let root = NSTemporaryDirectory() + "ope-workspaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/python-intro")
        let backend = LocalJupyterBackend(configuration: .init(venv: try Self.venv, root: root))
        let workspace = try await backend.start(WorkspaceRequest(session: "s-test", module: module))
        #expect(workspace.url.hasPrefix("http://127.0.0.1:"))
        #expect(workspace.url.hasSuffix("/w/s-test/"))

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
        await backend.stop(session: "s-test")
    }

    @Test func aJupyterLabThatExitsAtStartIsReportedAndNothingIsLeft() async throws {
        let root = NSTemporaryDirectory() + "ope-workspaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let venv = root + "/broken-venv"
        try FileManager.default.createDirectory(atPath: venv + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'cannot start: broken install' >&2\nexit 3\n".write(toFile: venv + "/bin/jupyter-lab", atomically: true, encoding: .utf8)
        chmod(venv + "/bin/jupyter-lab", 0o755)
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/python-intro")
        let backend = LocalJupyterBackend(configuration: .init(venv: venv, root: root + "/ws"))
        do {
            _ = try await backend.start(WorkspaceRequest(session: "s-broken", module: module))
            Issue.record("a JupyterLab that exits should not count as started")
        } catch let error as WorkspaceError {
            #expect(error.description.contains("exited at start (status 3)"))
            #expect(error.description.contains("cannot start: broken install"))
        }
        #expect(await backend.workspace(session: "s-broken") == nil)
    }

    @Test func aJupyterLabThatNeverAnswersTimesOutAndIsKilled() async throws {
        let root = NSTemporaryDirectory() + "ope-workspaces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let venv = root + "/hanging-venv"
        let pidFile = root + "/hang.pid"
        try FileManager.default.createDirectory(atPath: venv + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho $$ > \(pidFile)\nexec sleep 600\n".write(toFile: venv + "/bin/jupyter-lab", atomically: true, encoding: .utf8)
        chmod(venv + "/bin/jupyter-lab", 0o755)
        let module = try ModuleParser().parse(folder: Self.packageRoot + "/examples/modules/python-intro")
        let backend = LocalJupyterBackend(configuration: .init(venv: venv, root: root + "/ws", readyTimeout: .seconds(2)))
        await #expect(throws: WorkspaceError.self) { _ = try await backend.start(WorkspaceRequest(session: "s-hang", module: module)) }
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) != 0, "the hanging process is still alive")
    }
}
