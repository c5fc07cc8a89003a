import Foundation
import OPECore
import OPEStore

/// The dashboard's contribution figures for live teams, kept as one ``ContributionTally`` per team
/// and fed only the events committed since the last look: a refresh every few seconds reads a
/// handful of new events per team, not the team's whole record.
public actor LiveContributions {
    let reader: EventReader
    private var tallies: [String: ContributionTally] = [:]

    public init(reader: EventReader) { self.reader = reader }

    /// The session's figures now; its tally is dropped once the session has ended.
    public func figures(of session: String, now: Date) async throws -> Contributions {
        var tally = tallies[session] ?? ContributionTally(session: session)
        try await reader.forEach(EventFilter(afterID: tally.lastID == 0 ? nil : tally.lastID, session: session)) { page in
            for event in page { tally.add(event) }
        }
        tallies[session] = tally.isOver ? nil : tally
        return tally.contributions(now: now)
    }
}
