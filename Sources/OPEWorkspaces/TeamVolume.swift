import Foundation
import OPECore

/// A team's folder as a filesystem of its own, so the kernel holds it to its disk quota: a sparse
/// ext4 image beside the folder (`<folder>.img`), mounted on the folder through a loop device
/// (`nosuid,nodev`, `discard` so deleted files give their space back to the host).
///
/// Needs root, `mkfs.ext4` and loop devices; ``isAvailable`` says whether this machine has them.
/// The image keeps the files while the volume is not mounted, across server restarts.
public enum TeamVolume {
    /// Whether quota'd volumes can be made here.
    public static func isAvailable(why: inout String) -> Bool {
        guard getuid() == 0 else {
            why = "disk quotas need root (loop-mounted volumes)"
            return false
        }
        guard tool("mkfs.ext4") != nil, tool("mount") != nil else {
            why = "mkfs.ext4 or mount is missing (Debian: e2fsprogs, mount)"
            return false
        }
        guard FileManager.default.fileExists(atPath: "/dev/loop-control") else {
            why = "no loop devices (/dev/loop-control)"
            return false
        }
        return true
    }

    /// Mounts `folder`'s volume of `size` bytes on it, making the image the first time. Files
    /// already in a folder that had no volume yet are moved in. Does nothing if it is mounted.
    public static func mount(_ folder: String, size: Int64) async throws {
        if isMountPoint(folder) { return }
        let fileManager = FileManager.default
        let image = folder + ".img"
        try fileManager.createDirectory(atPath: (folder as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var staged: String?
        if !fileManager.fileExists(atPath: image) {
            // Seeded before its first mount (or from before quotas): move the files in afterwards.
            if fileManager.fileExists(atPath: folder), !((try? fileManager.contentsOfDirectory(atPath: folder)) ?? []).isEmpty {
                staged = folder + ".staged"
                try? fileManager.removeItem(atPath: staged!)
                try fileManager.moveItem(atPath: folder, toPath: staged!)
            }
            guard fileManager.createFile(atPath: image, contents: nil), truncate(image, off_t(size)) == 0 else {
                throw WorkspaceError("cannot make the team's volume \(image) (\(String(cString: strerror(errno))))")
            }
            // No reserved blocks (the team gets the whole quota); a small journal; nothing written
            // up front, so the image takes only what the files need.
            try await run(["mkfs.ext4", "-q", "-F", "-m", "0", "-J", "size=4", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", image])
        }
        try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try await run(["mount", "-o", "loop,nosuid,nodev,discard", image, folder])
        try? fileManager.removeItem(atPath: folder + "/lost+found")
        if let staged {
            for name in try fileManager.contentsOfDirectory(atPath: staged) {
                try fileManager.moveItem(atPath: staged + "/" + name, toPath: folder + "/" + name)
            }
            try fileManager.removeItem(atPath: staged)
        }
    }

    /// Unmounts `folder`'s volume (lazily if something still has it open); the image stays.
    public static func unmount(_ folder: String) async {
        guard isMountPoint(folder) else { return }
        if (try? await run(["umount", folder])) == nil { _ = try? await run(["umount", "-l", folder]) }
    }

    /// Removes the image of a folder that is not mounted (the session's files are gone for good).
    public static func delete(_ folder: String) async {
        await unmount(folder)
        try? FileManager.default.removeItem(atPath: folder + ".img")
    }

    /// Bytes used and available on the volume mounted on `folder` (the caller knows it is one).
    public static func usage(_ folder: String) -> (used: Int64, available: Int64)? {
        var stats = statvfs()
        guard statvfs(folder, &stats) == 0 else { return nil }
        let block = Int64(stats.f_frsize)
        return (Int64(stats.f_blocks - stats.f_bfree) * block, Int64(stats.f_bavail) * block)
    }

    /// Whether `folder` is a mount point (by `/proc/self/mountinfo`).
    public static func isMountPoint(_ folder: String) -> Bool {
        let path = URL(fileURLWithPath: folder).standardizedFileURL.path
        let text = ProcFile.text("/proc/self/mountinfo") ?? ""
        // Spaces in mount points are written as \040.
        let escaped = path.replacingOccurrences(of: " ", with: "\\040")
        return text.split(whereSeparator: \.isNewline).contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == escaped
        }
    }

    private static func run(_ arguments: [String]) async throws {
        let resolved = [tool(arguments[0]) ?? arguments[0]] + arguments.dropFirst()
        let result = try await CommandRunner().run(resolved, timeout: .seconds(60))
        guard result.succeeded else {
            throw WorkspaceError(
                "\(arguments.joined(separator: " ")) failed (\(result.statusText)): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    static func tool(_ name: String) -> String? {
        for folder in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: folder + "/" + name) {
            return folder + "/" + name
        }
        return nil
    }
}
