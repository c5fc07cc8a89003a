import Foundation
import Yams

/// A git repository that holds modules (the `OPERepository` concept).
public struct ModuleRepository: Sendable, Hashable, Codable {
    /// Folder name under `<data>/repositories/`.
    public var name: String
    public var url: String
    /// Branch, tag or commit.
    public var ref: String
    /// Sub-folder holding the module folders, if not the top.
    public var path: String?

    public init(name: String, url: String, ref: String = "main", path: String? = nil) {
        self.name = name
        self.url = url
        self.ref = ref
        self.path = path
    }
}

/// The `ope.yaml` configuration file: for now, the repositories modules come from.
public struct RepositoryConfig: Sendable {
    public var repositories: [ModuleRepository]

    public init(repositories: [ModuleRepository] = []) { self.repositories = repositories }

    /// Reads the config file at `file`, naming file, line and field on any problem.
    public static func load(file: String) throws(ModuleError) -> RepositoryConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ModuleError(file: file, message: "cannot read the file: \(error.localizedDescription)")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { return RepositoryConfig() }
            root = node
        } catch let error as YamlError {
            throw ModuleParser.syntaxError(error, file: file)
        } catch {
            throw ModuleError(file: file, message: "not valid YAML: \(error)")
        }
        let top = YAMLField(node: root, path: "", file: file)
        let fields = try top.mapping(allowed: ["repositories"])
        var repositories: [ModuleRepository] = []
        for field in try fields["repositories"]?.sequence() ?? [] {
            let entry = try field.mapping(allowed: ["name", "url", "ref", "path"])
            let nameField = try ModuleParser.required(entry, "name", in: field)
            let name = try ModuleParser.identifier(nameField)
            guard !repositories.contains(where: { $0.name == name }) else { throw nameField.error("duplicate repository name '\(name)'") }
            let url = try ModuleParser.required(entry, "url", in: field).nonEmptyString()
            let ref = try entry["ref"]?.nonEmptyString() ?? "main"
            guard !ref.hasPrefix("-") else { throw entry["ref"]!.error("a ref may not start with '-'") }
            guard !url.hasPrefix("-") else { throw entry["url"]!.error("a URL may not start with '-'") }
            var path: String?
            if let value = entry["path"] {
                let raw = try value.nonEmptyString()
                guard !raw.hasPrefix("/"), !raw.split(separator: "/").contains("..") else {
                    throw value.error("'\(raw)' must be a path inside the repository")
                }
                path = raw
            }
            repositories.append(ModuleRepository(name: name, url: url, ref: ref, path: path))
        }
        return RepositoryConfig(repositories: repositories)
    }
}
