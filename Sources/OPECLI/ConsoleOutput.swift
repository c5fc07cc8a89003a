import Foundation

/// Writes a line to standard error.
public func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a line to standard output at once, not when a buffer fills: people and scripts
/// watching `ope serve` must see the URL as soon as it is printed.
public func printNow(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
