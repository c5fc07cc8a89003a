import ArgumentParser
import Foundation
import OPECLI
import OPECore
import OPEStore

/// `ope-bench debug`: tools for testing OPE itself.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "debug", abstract: "Tools for testing OPE itself.", subcommands: [AppendEvents.self])

    /// Appends events, prints `acked N` once all are acknowledged, then waits to be killed: the
    /// durability test SIGKILLs it at that point and checks that all N survived.
    struct AppendEvents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "append-events", abstract: "Append events from concurrent writers, print `acked N` once all are acknowledged, then wait to be killed."
        )
        @Option var count: Int = 1000
        @Option var writers: Int = 50
        @OptionGroup var data: DataOptions

        func run() async throws {
            let store = try Store.open(data)
            let perWriter = count / writers
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for index in 0..<perWriter {
                            _ = try await store.events.append(
                                EventDraft(
                                    type: .chatMessage, actor: "writer\(writer)", session: "durability",
                                    payload: ChatPayload(text: "message \(index)", clientId: nil))
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            printNow("acked \(perWriter * writers)")
            try await Task.sleep(for: .seconds(3600))
        }
    }
}
