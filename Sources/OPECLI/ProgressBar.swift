import Foundation

/// A one-line progress bar on standard error, redrawn in place; silent when standard error is not
/// a terminal (a log file gets no carriage returns).
public struct ProgressBar: Sendable {
    public let enabled: Bool
    public let width: Int

    public init(enabled: Bool, width: Int = 30) {
        self.enabled = enabled
        self.width = width
    }

    /// Draws `fraction` (0 to 1) with `label` after it.
    public func show(_ fraction: Double, _ label: String) {
        guard enabled else { return }
        let clamped = max(0, min(1, fraction.isFinite ? fraction : 0))
        let filled = Int((clamped * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(String(format: "%3d", Int(clamped * 100)))% \(label)\u{1B}[K".utf8))
    }

    /// Ends the line the bar was drawn on.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
