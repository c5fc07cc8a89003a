import Foundation

/// A throw-away module folder on disk for one test.
struct ModuleFixture {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "ope-module-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Writes `text` to `path` inside the fixture (creating folders) and returns the absolute path.
    @discardableResult
    func write(_ path: String, _ text: String) throws -> String {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
        return full
    }

    init(existingRoot: String) {
        root = existingRoot
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// The folder of the repository checkout (for the shipped examples).
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static let validModule = """
        id: demo
        title: Demo module
        kit: python
        group: {min: 1, target: 2, max: 3}
        tasks:
          - id: first
            title: First task
            instructions: |
              Write `add(a, b)`.
            starter: [add.py]
            test:
              files: [tests/test_add.py]
              command: python -m pytest -q tests/test_add.py
              timeout: 30s
            timeLimit: 15m
          - id: second
            title: Second task
            instructionsFile: tasks/second.md
            test: tests/test_add.py
        """

    /// A module folder `name` with the valid module and its files.
    func makeValidModule(_ name: String = "demo", yaml: String = ModuleFixture.validModule) throws -> String {
        try write("\(name)/module.yaml", yaml)
        try write("\(name)/add.py", "def add(a, b):\n    raise NotImplementedError\n")
        try write("\(name)/tests/test_add.py", "from add import add\n\ndef test_add():\n    assert add(1, 2) == 3\n")
        try write("\(name)/tasks/second.md", "# Second\nDo more.\n")
        return root + "/" + name
    }
}
