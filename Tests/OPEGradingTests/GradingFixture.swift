import Foundation
import OPECore
import OPEGrading
import OPETestSupport

/// A team's files folder, a hidden tests folder and a scratch folder under a temporary root, and a
/// grading server over them on a free loopback port.
struct GradingFixture {
    let root: String
    var files: String { root + "/files" }
    var tests: String { root + "/tests" }
    var scratch: String { root + "/scratch" }
    let venv: String

    static let token = "grading-test-token"

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The project's virtualenv with pytest: `OPE_VENV` (set by `make test`), else `.venv` in the checkout.
    static var venv: String {
        get throws {
            let venv = ProcessInfo.processInfo.environment["OPE_VENV"] ?? packageRoot + "/.venv"
            guard FileManager.default.isExecutableFile(atPath: venv + "/bin/python"), FileManager.default.isExecutableFile(atPath: venv + "/bin/pytest")
            else {
                throw WaitFailure(
                    "no Python with pytest in \(venv): set OPE_VENV to the project's virtualenv or run scripts/setup-venv.sh (make test does both)")
            }
            return venv
        }
    }

    init() throws {
        venv = try Self.venv
        root = NSTemporaryDirectory() + "ope-grading-test-" + UUID().uuidString.prefix(8).lowercased()
        for folder in [files, tests, scratch] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Writes `text` to `path` under `folder`, making the folders on the way.
    func write(_ text: String, to path: String, in folder: String) throws {
        let full = folder + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    /// Every entry under `folder` with its contents (empty for folders and links) and modification time.
    func snapshot(_ folder: String) throws -> [String: String] {
        var entries: [String: String] = [:]
        let walker = FileManager.default.enumerator(atPath: folder)
        while let path = walker?.nextObject() as? String {
            let full = folder + "/" + path
            let attributes = try FileManager.default.attributesOfItem(atPath: full)
            let contents = (attributes[.type] as? FileAttributeType) == .typeRegular ? try String(contentsOfFile: full, encoding: .utf8) : ""
            entries[path] = "\(attributes[.modificationDate] ?? "") \(attributes[.posixPermissions] ?? "") \(contents)"
        }
        return entries
    }

    /// What the project's tests run with: the virtualenv first on PATH.
    var runnerConfiguration: GradingRunner.Configuration {
        GradingRunner.Configuration(
            filesFolder: files, testsFolder: tests, scratchFolder: scratch, maxConcurrent: 2,
            baseEnvironment: ["PATH": venv + "/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"])
    }

    /// Runs `body` with a grading server on 127.0.0.1 (a port the system picks) and its port; the
    /// server stops when `body` is done.
    func withServer<Result: Sendable>(
        maxConcurrent: Int = 2, testsFolder: String? = nil, _ body: @Sendable (_ port: Int) async throws -> Result
    ) async throws -> Result {
        var configuration = runnerConfiguration
        configuration.maxConcurrent = maxConcurrent
        if let testsFolder { configuration.testsFolder = testsFolder }
        let server = GradingServer(runner: GradingRunner(configuration: configuration), configuration: .init(host: "127.0.0.1", port: 0, token: Self.token))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            do {
                let result = try await body(try await server.port)
                server.beginGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                server.beginGracefulShutdown()
                throw error
            }
        }
    }

    /// A client of the server on `port` with `token`.
    static func client(port: Int, token: String = GradingFixture.token) -> GradingClient.Configuration {
        // A generous check deadline: on a machine busy with builds a loopback call has taken over 10 s.
        GradingClient.Configuration(host: "127.0.0.1", port: port, token: token, checkDeadline: .seconds(90))
    }

    /// A module's worth of files: `stats.py` (the team's, with `mean`) and its hidden tests.
    func writeStatsTask(teamMean: String = "sum(values) / len(values)") throws {
        try write(
            """
            def mean(values):
                if not values:
                    return 0
                return \(teamMean)
            """, to: "stats.py", in: files)
        try write(
            """
            import pytest
            from stats import mean

            def test_mean():
                assert mean([1, 2, 3]) == 2

            def test_empty():
                assert mean([]) == 0

            @pytest.mark.parametrize("values, expected", [([4], 4), ([1, 3], 2)])
            def test_more(values, expected):
                assert mean(values) == expected
            """, to: "tests/test_stats.py", in: tests)
    }

    static let pytest = "python -m pytest -q tests/test_stats.py"
}
