import ArgumentParser
import Foundation
import OPEBot
import OPECLI
import OPECore
import OPEModules

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Check and try out bot plans.", subcommands: [Simulate.self])

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what the bot would do, second by second, without starting a server.",
            discussion: """
                PATH is a native plan (YAML) or a Bazaar plan folder (plan_steps.xml beside its prompt files).
                The members join at second 0 (Ann, Ben, Cat, …); tests pass only where --tests-pass says so.
                --activity FILE scripts what they do (chat, edits, runs, role changes, tests; YAML or .jsonl,
                see docs/bot-plans.md), so triggers on the team's behaviour can be tried.
                Each line: the second after launch, the action, then its text or role change; "trigger" lines say
                which trigger fired and why.
                """
        )
        @Argument(help: "Plan file or Bazaar plan folder.") var path: String
        @Option(help: "Team members present from the start.") var members: Int = 3
        @Option(
            name: .customLong("tests-pass"), help: "TASK=SECONDS: the task's tests pass at that second (repeatable). TASK is a task id or Bazaar gate file.")
        var testsPass: [String] = []
        @Option(help: "Stop at this second (default: when the plan is over).") var until: Double?
        @Option(help: "Random seed for prompt variants and role shuffles.") var seed: UInt64 = 1
        @Flag(help: "Also print when each step starts.") var steps = false
        @Option(help: "A scripted activity file (YAML, or JSON Lines if it ends in .jsonl): what the members do and when.") var activity: String?

        func run() async throws {
            guard (1...PlanSimulator.names.count).contains(members) else { throw ValidationError("--members must be 1 to \(PlanSimulator.names.count)") }
            var passes: [String: Double] = [:]
            for entry in testsPass {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let seconds = Double(parts[1]), seconds >= 0 else {
                    throw ValidationError("--tests-pass takes TASK=SECONDS, e.g. --tests-pass text-stats=600; got '\(entry)'")
                }
                passes[parts[0]] = seconds
            }
            let plan: BotPlan
            do {
                plan = try PlanLoader().load(path: path)
            } catch {
                for problem in error.problems { printError(problem.description) }
                throw CLIError("\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in the plan")
            }
            let unknown = passes.keys.filter { !plan.gateTargets.contains($0) }
            if !unknown.isEmpty {
                throw ValidationError(
                    "the plan waits for no task named \(unknown.sorted().joined(separator: ", ")) (it waits for: \(plan.gateTargets.joined(separator: ", ")))")
            }
            var script = ActivityScript(entries: [])
            if let activity {
                do {
                    script = try ActivityScriptParser().parse(file: activity)
                } catch {
                    for problem in error.problems { printError(problem.description) }
                    throw CLIError("\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") in the activity file")
                }
            }
            let options = PlanSimulator.Options(members: members, testsPass: passes, until: until, seed: seed, showSteps: steps, activity: script)
            let problems = Self.check(script, plan: plan, members: options.memberNames)
            if !problems.isEmpty {
                for problem in problems { printError(problem) }
                throw CLIError("\(problems.count) problem\(problems.count == 1 ? "" : "s") in the activity file")
            }
            print(
                "# \(plan.name) (\(plan.format) plan), \(members) member\(members == 1 ? "" : "s"): \(PlanSimulator.names.prefix(members).joined(separator: ", "))"
            )
            for action in PlanSimulator().run(plan, options: options) { print(PlanSimulator.line(action)) }
        }

        /// Names in the script must be simulated members, roles the plan's, tests the plan's tasks.
        static func check(_ script: ActivityScript, plan: BotPlan, members: [String]) -> [String] {
            var problems: [String] = []
            func key(_ role: String) -> String { role.lowercased().replacingOccurrences(of: "_", with: " ") }
            for entry in script.entries {
                for member in entry.action.members where !members.contains(member) {
                    problems.append(
                        "\(entry.location): '\(member)' is not a simulated member (\(members.joined(separator: ", ")); --members sets how many)")
                }
                if case .roles(let map) = entry.action {
                    for role in map.values.sorted() where !plan.settings.roles.contains(where: { key($0) == key(role) }) {
                        problems.append("\(entry.location): role '\(role)' is not one of the plan's roles (\(plan.settings.roles.joined(separator: ", ")))")
                    }
                }
                if case .tests(let task, _) = entry.action, !plan.gateTargets.contains(task) {
                    problems.append("\(entry.location): the plan waits for no task named \(task) (it waits for: \(plan.gateTargets.joined(separator: ", ")))")
                }
            }
            return problems
        }
    }
}
