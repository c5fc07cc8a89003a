import Foundation
import OPECore
import Yams

/// A module folder as key → bytes maps, the form Kubernetes ConfigMaps and Secrets hold: what the
/// operator publishes for a module from a repository (the visible files, and apart from them the
/// hidden test files), and what a gateway or a workspace pod turns back into a folder.
///
/// ConfigMap and Secret keys allow only `[-._a-zA-Z0-9]`, so a path's other characters (the `/`
/// among them) are written `_XX` in hex, and `_` itself `_5F`: reversible, and readable enough.
public enum ModuleBundle {
    /// The total a ConfigMap or Secret may hold (etcd's 1 MiB, less room for metadata).
    public static let sizeLimit = 1_000_000

    public static func key(for path: String) -> String {
        var key = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"),
                UInt8(ascii: "."):
                key.append(Character(Unicode.Scalar(byte)))
            default:
                key += String(format: "_%02X", byte)
            }
        }
        return key
    }

    public static func path(forKey key: String) -> String? {
        var bytes: [UInt8] = []
        var index = key.utf8.startIndex
        let utf8 = key.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "_") {
                let hexStart = utf8.index(after: index)
                guard let hexEnd = utf8.index(hexStart, offsetBy: 2, limitedBy: utf8.endIndex),
                    let value = UInt8(String(decoding: utf8[hexStart..<hexEnd], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
                index = hexEnd
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(bytes: bytes, encoding: .utf8)
    }

    /// The files of a module folder (relative paths → contents), split into the hidden test files
    /// (`hidden`, as the tasks' `test.files` name them) and everything else. Dot-files and
    /// `__pycache__` are left out.
    public static func read(folder: String, hidden: Set<String>) throws -> (visible: [String: Data], hidden: [String: Data]) {
        var visible: [String: Data] = [:]
        var tests: [String: Data] = [:]
        let root = URL(fileURLWithPath: folder).standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw ModuleError(file: folder, message: "cannot list the module folder") }
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(".") || name == "__pycache__" {
                walker.skipDescendants()
                continue
            }
            var isFolder: ObjCBool = false
            let full = root + "/" + relative
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: full))
            if hidden.contains(relative) { tests[relative] = data } else { visible[relative] = data }
        }
        return (visible, tests)
    }

    /// Keys and base64 values, as a ConfigMap's `binaryData` or a Secret's `data` hold them.
    public static func encode(_ files: [String: Data]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: files.map { (key(for: $0.key), $0.value.base64EncodedString()) })
    }

    public static func decode(_ entries: [String: String]) -> [String: Data] {
        var files: [String: Data] = [:]
        for (key, value) in entries {
            guard let path = path(forKey: key), let data = Data(base64Encoded: value) else { continue }
            files[path] = data
        }
        return files
    }

    /// Bytes the encoded entries take.
    public static func size(_ entries: [String: String]) -> Int { entries.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count } }

    /// Writes `files` under `folder` (made afresh), refusing paths that would leave it.
    public static func write(_ files: [String: Data], into folder: String) throws {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (path, data) in files {
            let parts = path.split(separator: "/")
            guard !path.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
                throw ModuleError(file: path, message: "a bundle path may not leave its folder")
            }
            let target = folder + "/" + path
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: target))
        }
    }

    /// A module.yaml read as JSON (the form an `OPEModule`'s spec takes).
    public static func specification(moduleYAML text: String, file: String) throws -> JSONValue {
        let document: Any?
        do { document = try Yams.load(yaml: text) } catch { throw ModuleError(file: file, message: "not YAML: \(error)") }
        guard let document, JSONSerialization.isValidJSONObject(document) else { throw ModuleError(file: file, message: "module.yaml is not a mapping") }
        return try JSONDecoder().decode(JSONValue.self, from: JSONSerialization.data(withJSONObject: document))
    }

    /// The module.yaml text of a spec held as JSON (JSON is YAML), with its id.
    public static func moduleYAML(id: String, specification: JSONValue) -> String {
        guard case .object(var fields) = specification else { return "id: \(id)\n" }
        fields["id"] = .string(id)
        fields["source"] = nil
        return JSONValue.object(fields).jsonText + "\n"
    }
}
