import ArgumentParser
import Foundation
import OPECLI
import OPECore
import OPEWorkspaces

/// `ope-bench proxy`: workspace figures: proxy overhead against nginx, time-to-workspace, memory per workspace.
struct ProxyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Workspace proxy overhead (OPE vs nginx), time-to-workspace (cold vs warm pool) and memory per workspace, sandbox off vs on.",
        discussion: """
            Starts an OPE gateway in this process with real JupyterLab workspaces, forms sessions through the lobby and \
            measures one sandboxed JupyterLab through OPE's proxy and through nginx configured as a plain reverse proxy \
            (keep-alive upstream on its unix socket, WebSocket upgrade, token added), and time-to-workspace and memory with the \
            sandbox off and on. Needs nginx (make bench installs it).
            """
    )
    @Option(help: "HTTP requests per target.") var requests: Int = 5000
    @Option(help: "Requests in flight at once.") var concurrency: Int = 16
    @Option(help: "Rounds of HTTP load; targets take turns, the median round counts.") var rounds: Int = 5
    @Option(name: .customLong("round-trips"), help: "WebSocket round trips per target (kernel_info over the kernel channel).") var roundTrips: Int = 1000
    @Option(help: "Sessions started for the time-to-workspace figures, cold and warm each.") var starts: Int = 5
    @Option(help: "Python virtualenv holding JupyterLab.") var venv: String = ".venv"
    @Option(help: "Folder of modules (python-intro is used).") var modules: String = "examples/modules"
    @Option(help: "The nginx binary.") var nginx: String = "/usr/sbin/nginx"
    @Option(help: "Append this run's figures to this file for `ope-bench table` (make bench's one table).") var summary: String?

    func run() async throws {
        guard FileManager.default.isExecutableFile(atPath: nginx) else {
            throw CLIError("nginx not found at \(nginx): install it (`apt-get install nginx-light`; `make bench` does) or pass --nginx")
        }
        let venv = URL(fileURLWithPath: self.venv).standardizedFileURL.path
        let modules = URL(fileURLWithPath: self.modules).standardizedFileURL.path
        let folder = NSTemporaryDirectory() + "ope-bench-proxy-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // The baseline for time-to-workspace: JupyterLab started by hand, as many times.
        var alone: [Double] = []
        for index in 0..<starts { alone.append(try await JupyterAlone.startSeconds(venv: venv, folder: folder + "/alone-\(index)") * 1000) }
        print("JupyterLab alone (jupyter-lab → /api/status answers, \(starts) starts): " + Self.summary(alone))

        // Sandbox off, then on, in one run: what containment costs in start time and memory.
        var benchRows: [BenchRow] = []
        var rows: [(mode: String, cold: [Double], warm: [Double], memory: (server: Int, total: Int, processes: Int))] = []
        for sandboxed in [false, true] {
            let mode = sandboxed ? "sandbox on" : "sandbox off"
            let cold = try await BenchGateway.start(
                folder: folder + "/cold-\(sandboxed)", venv: venv, modules: modules, warmPool: 0, users: 2 * starts, sandboxed: sandboxed
            )
            print("Time-to-workspace, \(mode), cold (match → JupyterLab ready, \(starts) sessions one after another):")
            var coldTimes: [Double] = []
            var sessions: [String] = []
            for index in 0..<starts {
                let (session, ms) = try await cold.pairAndWait(index)
                coldTimes.append(ms)
                sessions.append(session)
            }
            print("  " + Self.summary(coldTimes))
            let workspace = try await cold.workspace(sessions[0])
            for session in sessions.dropFirst() { try await cold.end(session) }
            let memory = try await Self.memory(of: workspace)
            if sandboxed { benchRows += try await compare(workspace: workspace, gatewayPort: cold.workspacePort, token: cold.tokens[0], folder: folder) }
            try await cold.stop()

            let warm = try await BenchGateway.start(
                folder: folder + "/warm-\(sandboxed)", venv: venv, modules: modules, warmPool: 2, users: 2 * starts, sandboxed: sandboxed
            )
            print("Time-to-workspace, \(mode), warm pool of 2 (\(starts) sessions, each after the pool refilled):")
            var warmTimes: [Double] = []
            for index in 0..<starts {
                try await warm.waitForPool(2)
                warmTimes.append(try await warm.pairAndWait(index).ms)
            }
            print("  " + Self.summary(warmTimes))
            try await warm.stop()
            rows.append((mode, coldTimes, warmTimes, memory))
        }
        print("\nSandbox cost, same run (medians; memory = every process of one workspace with an idle kernel):")
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        for row in rows {
            print(
                String(
                    format: "  %@  cold %.0f ms, warm %.1f ms, memory %.1f MiB (%d processes)", row.mode.padding(toLength: 11, withPad: " ", startingAt: 0),
                    median(row.cold), median(row.warm), Double(row.memory.total) / 1024, row.memory.processes
                )
            )
        }
        let (off, on) = (rows[0], rows[1])
        let baseline = median(alone)
        for row in rows {
            benchRows.append(
                BenchRow(
                    measure: "time-to-workspace cold, \(row.mode) (match → JupyterLab answers through the proxy)",
                    ours: String(format: "%.2f s", median(row.cold) / 1000),
                    baseline: String(format: "JupyterLab alone: %.2f s", baseline / 1000), target: "≤ JupyterLab + 0.5 s",
                    met: median(row.cold) <= baseline + 500))
        }
        try BenchSummary.append(benchRows, to: summary)
        print(
            String(
                format: "  sandbox adds: cold %+.0f ms, warm %+.1f ms (target < 100 ms), memory %+.1f MiB per workspace (target < 10 MiB)",
                median(on.cold) - median(off.cold), median(on.warm) - median(off.warm), Double(on.memory.total - off.memory.total) / 1024
            )
        )
    }

    /// Resident memory of every process of a workspace (the sandbox's own included) with one idle kernel.
    static func memory(of workspace: Workspace) async throws -> (server: Int, total: Int, processes: Int) {
        _ = try await HTTPLoad.startKernel(base: workspace.url, token: workspace.token)
        try await Task.sleep(for: .seconds(3))  // let the kernel finish importing
        let pids = WorkspaceProcesses.pids(of: workspace.id)
        let server = workspace.processID.map(WorkspaceProcesses.residentKiB) ?? 0
        return (server, pids.map(WorkspaceProcesses.residentKiB).reduce(0, +), pids.count)
    }

    /// The same JupyterLab through OPE and through nginx (and directly, when it is on TCP).
    func compare(workspace: Workspace, gatewayPort: Int, token: String, folder: String) async throws -> [BenchRow] {
        let upstream = workspace.socketPath.map { "unix:" + $0 } ?? String(workspace.origin.dropFirst("http://".count))
        let nginxPort = try LoopbackPort.free()
        let nginx = try NginxProxy.start(binary: self.nginx, folder: folder + "/nginx", port: nginxPort, upstream: upstream, token: workspace.token)
        defer { nginx.stop() }
        try await Task.sleep(for: .milliseconds(500))
        var targets: [(name: String, base: String, authorization: String?)] = [
            ("OPE proxy", "http://127.0.0.1:\(gatewayPort)", "Bearer \(token)"),
            ("nginx", "http://127.0.0.1:\(nginxPort)", nil),
        ]
        // A sandboxed JupyterLab listens on a unix socket only, which the load tool cannot open.
        if workspace.socketPath == nil { targets.insert(("direct", workspace.origin, "token \(workspace.token)"), at: 0) }
        print(
            "\nHTTP GET \(workspace.path)api/status, \(requests) requests, \(concurrency) in flight, from a separate load process (\(rounds) rounds, targets taking turns, medians):"
        )
        var rounds: [String: [HTTPLoad.Result]] = [:]
        // The proxy's own CPU per request: this process serves the OPE gateway (the load runs in
        // a child of its own); nginx is its master and workers.
        var cpu: [String: Double] = [:]
        let own = RSSSampler(pid: getpid())
        let cpuSeconds = { (target: String) in target == "nginx" ? nginx.cpuSeconds : own.cpuSeconds }
        for _ in 0..<self.rounds {
            for target in targets {
                let before = cpuSeconds(target.name)
                let result = try await HTTPLoad.inChild(
                    url: target.base + workspace.path + "api/status", authorization: target.authorization, requests: requests, concurrency: concurrency
                )
                cpu[target.name, default: 0] += cpuSeconds(target.name) - before
                rounds[target.name, default: []].append(result)
            }
        }
        let results = rounds.mapValues(HTTPLoad.Result.median)
        for target in targets { print("  \(target.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(results[target.name]!.line)") }
        let ours = results["OPE proxy"]!
        let theirs = results["nginx"]!
        print(String(format: "  OPE/nginx: throughput %.2fx (target ≥ 0.95x), p99 %.2fx (target ≤ 1.1x)", ours.rate / theirs.rate, ours.p99 / theirs.p99))
        let perRequest = { (name: String) in 1000 * (cpu[name] ?? 0) / Double(requests * self.rounds) }
        print(
            String(
                format: "  proxy CPU per request: OPE %.3f ms, nginx %.3f ms (%.1fx)",
                perRequest("OPE proxy"), perRequest("nginx"), perRequest("OPE proxy") / perRequest("nginx")))

        let kernel = try await HTTPLoad.startKernel(base: workspace.url, token: workspace.token)

        print("\nWebSocket round trips (kernel_info_request → reply on the kernel channel), \(roundTrips) each:")
        var trips: [String: [Double]] = [:]
        var relayCPU: [String: Double] = [:]
        for target in targets {
            let before = cpuSeconds(target.name)
            // Each connection names its own client session, as JupyterLab does; without one they
            // share a key and the server may drop one connection for the next.
            let url = "ws" + target.base.dropFirst("http".count) + workspace.path + "api/kernels/\(kernel)/channels?session_id=\(UUID().uuidString)"
            trips[target.name] = try await HTTPLoad.roundTripsInChild(url: url, authorization: target.authorization, count: roundTrips)
            relayCPU[target.name] = cpuSeconds(target.name) - before
            print("  \(target.name.padding(toLength: 10, withPad: " ", startingAt: 0)) " + Self.summary(trips[target.name]!))
        }
        let p99 = { (name: String) in trips[name]!.sorted()[Int(Double(trips[name]!.count) * 0.99)] }
        print(String(format: "  OPE/nginx p99: %.2fx", p99("OPE proxy") / p99("nginx")))
        // A round trip relays the request, its reply and the kernel's busy and idle statuses.
        let perTrip = { (name: String) in 1_000_000 * (relayCPU[name] ?? 0) / Double(roundTrips) }
        print(
            String(
                format: "  proxy CPU per round trip: OPE %.0f µs, nginx %.0f µs (%.1fx)", perTrip("OPE proxy"), perTrip("nginx"),
                perTrip("OPE proxy") / perTrip("nginx")))
        return [
            BenchRow(
                measure: "proxy GET api/status, \(concurrency) in flight", ours: String(format: "%.0f req/s (%.2fx)", ours.rate, ours.rate / theirs.rate),
                baseline: String(format: "nginx: %.0f req/s", theirs.rate), target: "≥ 0.95x nginx", met: ours.rate >= 0.95 * theirs.rate),
            BenchRow(
                measure: "proxy GET api/status p99", ours: String(format: "%.2f ms (%.2fx)", ours.p99, ours.p99 / theirs.p99),
                baseline: String(format: "nginx: %.2f ms", theirs.p99), target: "≤ 1.1x nginx", met: ours.p99 <= 1.1 * theirs.p99),
            BenchRow(
                measure: "proxy CPU per request (api/status)",
                ours: String(format: "%.3f ms (%.1fx)", perRequest("OPE proxy"), perRequest("OPE proxy") / perRequest("nginx")),
                baseline: String(format: "nginx: %.3f ms", perRequest("nginx")), target: "-", met: nil),
            BenchRow(
                measure: "proxy WebSocket round trip p99 (kernel_info)",
                ours: String(format: "%.2f ms (%.2fx)", p99("OPE proxy"), p99("OPE proxy") / p99("nginx")),
                baseline: String(format: "nginx: %.2f ms", p99("nginx")), target: "-", met: nil),
        ]
    }

    static func summary(_ milliseconds: [Double]) -> String {
        guard !milliseconds.isEmpty else { return "no samples" }
        let sorted = milliseconds.sorted()
        func at(_ quantile: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))] }
        return String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)", at(0.5), at(0.99), sorted.last!, sorted.count)
    }
}
