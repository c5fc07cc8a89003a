import OPERuntime

/// A team's contributions as a small SVG chart, drawn on the server (no script, no library): per
/// member, bars for edits, cell runs and chat messages (each scaled to the team's largest), and a
/// bar of their time in each role. Every name and role in it is escaped.
enum ContributionChart {
    static let width = 460
    static let labelWidth = 120
    static let barHeight = 11
    static let palette = ["#2f6fb3", "#d9822b", "#3c9d5d", "#8e5bb5", "#c0392b", "#7f8c8d"]

    static func svg(_ figures: Contributions, names: [String: String]) -> String {
        let members = figures.members
        let metrics: [(String, (Contributions.Member) -> Int)] = [("edits", \.edits), ("runs", \.executions), ("chat", \.chatMessages)]
        let roles = Set(members.flatMap(\.roleSeconds.keys)).sorted()
        let longest = max(1, members.map { $0.roleSeconds.values.reduce(0, +) }.max() ?? 0)
        let rowHeight = barHeight + 3
        let block = 16 + rowHeight * (metrics.count + 1) + 8
        let legendHeight = roles.isEmpty ? 0 : 20
        let height = max(30, 8 + block * members.count + legendHeight)
        let barSpace = Double(width - labelWidth - 60)
        var body = ""
        var y = 8
        for member in members {
            let name = names[member.user] ?? member.user
            body += "<text x=\"4\" y=\"\(y + 11)\" class=\"name\" font-weight=\"bold\">\(escape(name))</text>\n"
            y += 16
            for (index, (label, value)) in metrics.enumerated() {
                let top = max(1, members.map(value).max() ?? 0)
                let length = Int((Double(value(member)) / Double(top) * barSpace).rounded())
                body += "<text x=\"\(labelWidth - 6)\" y=\"\(y + barHeight - 1)\" text-anchor=\"end\">\(label)</text>"
                body +=
                    "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(length)\" height=\"\(barHeight)\" fill=\"\(palette[index])\" data-metric=\"\(label)\"/>"
                body += "<text x=\"\(labelWidth + length + 4)\" y=\"\(y + barHeight - 1)\">\(value(member))</text>\n"
                y += rowHeight
            }
            body += "<text x=\"\(labelWidth - 6)\" y=\"\(y + barHeight - 1)\" text-anchor=\"end\">roles</text>"
            var x = Double(labelWidth)
            for (index, role) in roles.enumerated() {
                let seconds = member.roleSeconds[role] ?? 0
                guard seconds > 0 else { continue }
                let length = Double(seconds) / Double(longest) * barSpace
                body +=
                    "<rect x=\"\(Int(x.rounded()))\" y=\"\(y)\" width=\"\(max(1, Int(length.rounded())))\" height=\"\(barHeight)\" fill=\"\(roleColour(index))\"><title>\(escape(role)): \(minutes(seconds))</title></rect>"
                x += length
            }
            body += "<text x=\"\(Int(x.rounded()) + 4)\" y=\"\(y + barHeight - 1)\">\(minutes(member.roleSeconds.values.reduce(0, +)))</text>\n"
            y += rowHeight + 8
        }
        var legend = ""
        var x = 4
        for (index, role) in roles.enumerated() {
            legend += "<rect x=\"\(x)\" y=\"\(y + 2)\" width=\"10\" height=\"10\" fill=\"\(roleColour(index))\"/>"
            legend += "<text x=\"\(x + 14)\" y=\"\(y + 11)\">\(escape(role))</text>"
            x += 24 + 7 * role.count
        }
        let summary = members.map { member in
            "\(names[member.user] ?? member.user): \(member.edits) edits, \(member.executions) runs, \(member.chatMessages) chat messages"
        }.joined(separator: "; ")
        let label = members.isEmpty ? "No contributions yet" : "Contributions: " + summary
        return """
            <svg xmlns="http://www.w3.org/2000/svg" class="contributions" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            role="img" aria-label="\(escape(label))" font-family="sans-serif" font-size="11">
            <title>\(escape(label))</title>
            \(members.isEmpty ? "<text x=\"4\" y=\"18\">No contributions yet.</text>" : body + legend)
            </svg>
            """
    }

    static func roleColour(_ index: Int) -> String { palette[(index + 3) % palette.count] }

    static func minutes(_ seconds: Int) -> String { seconds < 60 ? "\(seconds) s" : "\(seconds / 60) min" }

    /// Text as XML character data or an attribute value.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
