import Foundation

/// Reads and writes the sizes used in module files and server options: `512MiB`, `2GiB`, `1G`,
/// `1048576` (bytes). `K`/`M`/`G`/`T` and their `iB` forms are powers of 1024, as `ulimit` and
/// cgroups count; `KB`/`MB`/`GB` are powers of 1000.
public enum ByteSize {
    /// Parses a whole number of bytes with an optional unit; nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let split = trimmed.firstIndex(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) else {
            return Int64(trimmed).flatMap { $0 >= 0 ? $0 : nil }
        }
        guard let number = Double(trimmed[..<split]), number >= 0 else { return nil }
        let unit = trimmed[split...].trimmingCharacters(in: .whitespaces).lowercased()
        let factor: Double
        switch unit {
        case "b": factor = 1
        case "k", "ki", "kib": factor = 1024
        case "m", "mi", "mib": factor = 1024 * 1024
        case "g", "gi", "gib": factor = 1024 * 1024 * 1024
        case "t", "ti", "tib": factor = 1024 * 1024 * 1024 * 1024
        case "kb": factor = 1000
        case "mb": factor = 1_000_000
        case "gb": factor = 1_000_000_000
        case "tb": factor = 1_000_000_000_000
        default: return nil
        }
        let bytes = number * factor
        guard bytes < Double(Int64.max) else { return nil }
        return Int64(bytes.rounded())
    }

    /// A short text for people: `2 GiB`, `512 MiB`, `1.5 GiB`, `900 B`.
    public static func text(_ bytes: Int64) -> String {
        let units: [(String, Double)] = [("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024)]
        for (name, size) in units where Double(bytes) >= size {
            let value = Double(bytes) / size
            let rounded = (value * 10).rounded() / 10
            return rounded == rounded.rounded() ? "\(Int(rounded)) \(name)" : "\(rounded) \(name)"
        }
        return "\(bytes) B"
    }
}
