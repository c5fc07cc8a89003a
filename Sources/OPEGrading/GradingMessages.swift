import OPECore

// The wire's messages and OPE's values, both ways.

extension GradingRequest {
    init(_ message: Ope_Grading_V1_RunTestsRequest) {
        self.init(
            session: message.session, task: message.task, command: message.command, timeout: .seconds(Int(message.timeoutSeconds)),
            testFiles: message.testFiles, environment: message.environment
        )
    }
}

extension Ope_Grading_V1_RunTestsRequest {
    init(_ request: GradingRequest) {
        self.init()
        session = request.session
        task = request.task
        command = request.command
        timeoutSeconds = UInt32(clamping: request.timeoutSeconds)
        testFiles = request.testFiles
        environment = request.environment
    }
}

extension GradingResult {
    init(_ message: Ope_Grading_V1_RunTestsResponse) {
        self.init(
            passed: message.passed, timedOut: message.timedOut, exitStatus: message.exitStatus, durationMs: Int(clamping: message.durationMs),
            output: message.output, cases: message.cases.map(TestReport.Case.init)
        )
    }
}

extension Ope_Grading_V1_RunTestsResponse {
    init(_ result: GradingResult) {
        self.init()
        passed = result.passed
        timedOut = result.timedOut
        exitStatus = result.exitStatus
        durationMs = UInt64(max(0, result.durationMs))
        output = result.output
        cases = result.cases.map(Ope_Grading_V1_Case.init)
    }
}

extension TestReport.Case {
    /// A case from the wire; an outcome this side does not know counts as an error.
    init(_ message: Ope_Grading_V1_Case) {
        let outcome: TestReport.Outcome? =
            switch message.outcome {
            case .passed: .passed
            case .failed: .failed
            case .error: .error
            case .skipped: .skipped
            case .xfailed: .xfailed
            case .xpassed: .xpassed
            case .unspecified, .UNRECOGNIZED: nil
            }
        let note = outcome == nil ? "the grading service sent an outcome this platform does not know (\(message.outcome.rawValue))" : nil
        self.init(name: message.name, outcome: outcome ?? .error, message: message.message.isEmpty ? note : message.message)
    }
}

extension Ope_Grading_V1_Case {
    init(_ testCase: TestReport.Case) {
        self.init()
        name = testCase.name
        outcome =
            switch testCase.outcome {
            case .passed: .passed
            case .failed: .failed
            case .error: .error
            case .skipped: .skipped
            case .xfailed: .xfailed
            case .xpassed: .xpassed
            }
        message = testCase.message ?? ""
    }
}
