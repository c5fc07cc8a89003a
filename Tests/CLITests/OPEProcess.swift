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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        if let input {
            // A file, not a pipe: nothing to feed while the program runs.
            let file = NSTemporaryDirectory() + "ope-stdin-\(UUID().uuidString)"
            try input.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            process.standardInput = FileHandle(forReadingAtPath: file)
        }
        try process.run()
        // Collected as it comes by threads of their own (not on the concurrency pool, where a
        // blocking read would starve the test's other tasks on a 2-core machine), each owning a
        // duplicate of its pipe's read end: see PipeReader for why not readabilityHandler.
        let outReader = try PipeReader(duplicating: out.fileHandleForReading.fileDescriptor, limit: 16 << 20)
        let errReader = try PipeReader(duplicating: err.fileHandleForReading.fileDescriptor, limit: 16 << 20)
        try? out.fileHandleForReading.close()
        try? err.fileHandleForReading.close()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                outReader.abandon()
                errReader.abandon()
                throw ProcessFailure("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // What is left, without waiting on grandchildren (a browser) that may hold the pipes open.
        let collected = (stdout: String(decoding: await outReader.finish(), as: UTF8.self), stderr: String(decoding: await errReader.finish(), as: UTF8.self))
        let (stdout, stderr) = collected
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
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
final class RunningProcess: @unchecked Sendable {
    let process = Process()
    private let reader: PipeReader

    init(program: String, arguments: [String], directory: String?) throws {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        // One pipe's write end as a FileHandle for both streams, closed here once: given the Pipe
        // twice, Foundation would close its write end twice (see CommandRunner).
        process.standardOutput = pipe.fileHandleForWriting
        process.standardError = pipe.fileHandleForWriting
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? pipe.fileHandleForWriting.close()
        reader = try PipeReader(duplicating: pipe.fileHandleForReading.fileDescriptor, limit: 16 << 20)
        try? pipe.fileHandleForReading.close()
    }

    var text: String { String(decoding: reader.data, as: UTF8.self) }

    /// The program's file name, for messages.
    var name: String { process.executableURL?.lastPathComponent ?? "the program" }

    /// Waits until the output contains `needle`, failing if the process exits or time runs out.
    func waitFor(_ needle: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !text.contains(needle) {
            guard process.isRunning else { throw ProcessFailure("\(name) exited (\(process.terminationStatus)) before printing '\(needle)':\n\(text)") }
            guard ContinuousClock.now < deadline else { throw ProcessFailure("no '\(needle)' within \(timeout):\n\(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit and returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ProcessFailure("\(name) did not exit within \(timeout):\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
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
