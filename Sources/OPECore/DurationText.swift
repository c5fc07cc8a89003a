import Foundation

/// Reads and writes the durations used in module and plan files and on the command line: `90`,
/// `"90s"`, `"20m"`, `"1h30m"`, `"90d"`.
public enum DurationText {
    /// Parses whole seconds, or a string of number+unit parts (`d`, `h`, `m`, `s`).
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        var total = 0
        var digits = ""
        var sawUnit = false
        for character in trimmed {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            guard let value = Int(digits) else { return nil }
            switch character {
            case "d": total += value * 86400
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: return nil
            }
            digits = ""
            sawUnit = true
        }
        guard sawUnit, digits.isEmpty else { return nil }
        return .seconds(total)
    }

    /// Writes whole seconds the way ``parse(_:)`` reads them: `90s`, `5m`, `1h30m`, `2d`.
    public static func text(_ duration: Duration) -> String {
        var rest = seconds(duration)
        guard rest > 0 else { return "0s" }
        var text = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }

    /// Whole seconds of a duration (durations in modules are whole seconds).
    public static func seconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds)
    }
}

extension Duration {
    /// The duration in seconds, for arithmetic with `Date`.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (NIO's `TimeAmount`, `Task.sleep`).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The duration in milliseconds, for reports and `…Ms` fields.
    public var milliseconds: Double { Double(nanoseconds) / 1_000_000 }
}
