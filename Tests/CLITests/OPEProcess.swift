import Foundation
import OPECore
import Testing

/// The built `ope` binary, run as a separate process the way people and scripts run it.
struct OPEProcess {
    /// Path of the binary: `OPE_BIN` (set by `make test`), else the debug build in this checkout.
    static var binary: String {
        get throws {
            if let path = ProcessInfo.processInfo.environment["OPE_BIN"] { return path }
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let path = root.appendingPathComponent(".build/debug/ope").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ProcessFailure("the ope binary is missing at \(path): run `swift build` first (make test does)")
            }
            return path
        }
    }

    /// Path of `ope-bench` (benchmarks, load test, debug tools): beside the `ope` binary, where `swift build` puts both.
    static var benchBinary: String {
        get throws {
            let ope = try binary
            let path = URL(fileURLWithPath: ope).deletingLastPathComponent().appendingPathComponent("ope-bench").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ProcessFailure("the ope-bench binary is missing at \(path), beside \(ope): run `swift build --build-tests` first (make test does)")
            }
            return path
        }
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `ope ARGUMENTS` to completion (killed after `timeout`).
    static func run(_ arguments: [String], timeout: Duration = .seconds(60), directory: String? = nil, input: String? = nil) async throws -> Result {
        try await runProgram(try binary, arguments, timeout: timeout, directory: directory, input: input)
    }

    /// Runs any program to completion (killed after `timeout`), with `environment` added to this process's.
    static func runProgram(
        _ path: String, _ arguments: [String], timeout: Duration = .seconds(60), directory: String? = nil, environment: [String: String] = [:],
        input: String? = nil
    ) async throws -> Result {
        // Input from a file, not a pipe: nothing to feed while the program runs. Output collected as
        // it comes by threads of their own (not on the concurrency pool, where a blocking read
        // would starve the test's other tasks on a 2-core machine): see PipeReader.
        let captured = try ChildProcess.capturing(
            path, arguments: arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new }, directory: directory,
            input: input, errors: .apart, limit: 16 << 20)
        let process = captured.process
        let outReader = captured.output
        let errReader = captured.errors!
        guard await process.waitForExit(within: timeout) else {
            process.signal(SIGTERM)
            outReader.abandon()
            errReader.abandon()
            throw ProcessFailure("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        // What is left, without waiting on grandchildren (a browser) that may hold the pipes open.
        let collected = (stdout: String(decoding: await outReader.finish(), as: UTF8.self), stderr: String(decoding: await errReader.finish(), as: UTF8.self))
        let (stdout, stderr) = collected
        return Result(status: process.exitStatus ?? -1, stdout: stdout, stderr: stderr)
    }

    /// Runs `ope-bench ARGUMENTS` to completion (killed after `timeout`).
    static func runBench(_ arguments: [String], timeout: Duration = .seconds(60), directory: String? = nil) async throws -> Result {
        try await runProgram(try benchBinary, arguments, timeout: timeout, directory: directory)
    }

    /// Starts `ope ARGUMENTS` in the background; the caller reads its output and stops it.
    static func start(_ arguments: [String], directory: String? = nil) throws -> RunningProcess {
        try RunningProcess(program: try binary, arguments: arguments, directory: directory)
    }

    /// Starts `ope-bench ARGUMENTS` in the background; the caller reads its output and stops it.
    static func startBench(_ arguments: [String], directory: String? = nil) throws -> RunningProcess {
        try RunningProcess(program: try benchBinary, arguments: arguments, directory: directory)
    }
}

/// A background `ope` (or `ope-bench`) whose output lines can be awaited.
final class RunningProcess: Sendable {
    let process: ChildProcess
    private let reader: PipeReader

    init(program: String, arguments: [String], directory: String?) throws {
        let captured = try ChildProcess.capturing(program, arguments: arguments, directory: directory, errors: .merged, limit: 16 << 20)
        process = captured.process
        reader = captured.output
    }

    var text: String { String(decoding: reader.data, as: UTF8.self) }

    /// The program's file name, for messages.
    var name: String { URL(fileURLWithPath: process.executable).lastPathComponent }

    /// Waits until the output contains `needle`, failing if the process exits or time runs out.
    func waitFor(_ needle: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !text.contains(needle) {
            guard process.isRunning else { throw ProcessFailure("\(name) exited (\(process.exitStatus ?? -1)) before printing '\(needle)':\n\(text)") }
            guard ContinuousClock.now < deadline else { throw ProcessFailure("no '\(needle)' within \(timeout):\n\(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func signal(_ signal: Int32) { process.signal(signal) }

    /// Waits for the process to exit and returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        guard await process.waitForExit(within: timeout) else {
            process.signal(SIGKILL)
            throw ProcessFailure("\(name) did not exit within \(timeout):\n\(text)")
        }
        return process.exitStatus ?? -1
    }

    deinit {
        process.signal(SIGKILL)
        reader.abandon()
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary folder for one test.
func temporaryFolder(_ name: String = "ope-cli") -> String {
    let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
