/// A problem with a module file, located precisely enough for an instructor to fix it.
///
/// Printed as `FILE:LINE:COLUMN: FIELD: MESSAGE`, the form editors and terminals link to.
public struct ModuleError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Dotted path of the field, e.g. `tasks[1].starter[0]`; empty for file-level problems.
    public var field: String
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, field: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return field.isEmpty ? "\(location): \(message)" : "\(location): \(field): \(message)"
    }
}
