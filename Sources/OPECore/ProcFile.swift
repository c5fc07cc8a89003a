import Foundation

/// Reads files under `/proc` (and `/sys`) whole. Their size says 0 and Foundation's readers
/// (`String(contentsOfFile:)`, `FileManager.contents(atPath:)`, `FileHandle.readToEnd()`) stop
/// after the first 4 KiB page, so a long `/proc/self/mountinfo` or a process's `environ` came back
/// cut short. This reads with `read(2)` until the end.
public enum ProcFile {
    /// The file's bytes, or nil if it cannot be opened (the process is gone, no permission).
    public static func data(_ path: String) -> Data? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return data
    }

    /// The file as text (UTF-8, invalid bytes replaced).
    public static func text(_ path: String) -> String? {
        data(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
