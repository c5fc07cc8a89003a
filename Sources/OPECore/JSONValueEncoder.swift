/// Turns an `Encodable` value into a ``JSONValue`` directly, without JSON text in between.
///
/// Event payloads are built this way on every write (a chat message among them), where a detour
/// through `JSONEncoder` and back would cost more than the rest of the append. Numbers become
/// `.number` (a `Double`, as the log has always stored them), optionals that are nil are left out
/// (`encodeIfPresent`), and an explicit nil becomes `.null`.
public struct JSONValueEncoder: Sendable {
    public init() {}

    /// `value` as a JSON value.
    ///
    /// - Throws: `EncodingError.invalidValue` if `value` encodes nothing at all, or what its own
    ///   `encode(to:)` throws.
    public func encode(_ value: some Encodable) throws -> JSONValue {
        if let json = value as? JSONValue { return json }
        let node = EncodingNode()
        try value.encode(to: ValueEncoder(node: node, codingPath: []))
        guard let json = node.value else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(type(of: value)) encoded no value"))
        }
        return json
    }
}

/// What one value has encoded so far. A reference, because containers handed out earlier keep
/// writing into it; the tree is read into a ``JSONValue`` once encoding is over.
private final class EncodingNode {
    enum Content {
        case none
        case single(JSONValue)
        case object([String: EncodingNode])
        case array([EncodingNode])
    }

    var content: Content = .none

    var value: JSONValue? {
        switch content {
        case .none: nil
        case .single(let value): value
        case .object(let fields): .object(fields.compactMapValues(\.value))
        case .array(let items): .array(items.map { $0.value ?? .null })
        }
    }

    /// A child node for `key`, making this node an object (keeping fields already there).
    func child(forKey key: String) -> EncodingNode {
        let node = EncodingNode()
        if case .object(var fields) = content {
            fields[key] = node
            content = .object(fields)
        } else {
            content = .object([key: node])
        }
        return node
    }

    /// A new last element, making this node an array (keeping elements already there).
    func appendChild() -> EncodingNode {
        let node = EncodingNode()
        if case .array(var items) = content {
            items.append(node)
            content = .array(items)
        } else {
            content = .array([node])
        }
        return node
    }

    func makeObject() { if case .object = content {} else { content = .object([:]) } }
    func makeArray() { if case .array = content {} else { content = .array([]) } }
    var count: Int { if case .array(let items) = content { items.count } else { 0 } }
}

private struct ValueEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(node: node, codingPath: codingPath) }

    /// Writes `value` into `node`: JSON values and scalars as they are, anything else through its own `encode(to:)`.
    static func encode(_ value: some Encodable, into node: EncodingNode, codingPath: [any CodingKey]) throws {
        if let json = value as? JSONValue {
            node.content = .single(json)
        } else if let text = value as? String {
            node.content = .single(.string(text))
        } else {
            try value.encode(to: ValueEncoder(node: node, codingPath: codingPath))
        }
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    func put(_ value: JSONValue, _ key: Key) { node.child(forKey: key.stringValue).content = .single(value) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(.number(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.number(Double(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.number(Double(value)), key) }

    mutating func encode(_ value: some Encodable, forKey key: Key) throws {
        try ValueEncoder.encode(value, into: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.child(forKey: key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.child(forKey: key.stringValue)
        child.makeArray()
        return UnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.child(forKey: "super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key]) }
}

/// A container that writes one scalar at a time (an array's next element, or a single value):
/// its scalar `encode` overloads, which both container protocols require, come from here.
private protocol ScalarSink {
    func put(_ value: JSONValue)
}

extension ScalarSink {
    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(.number(value)) }
    mutating func encode(_ value: Float) throws { put(.number(Double(value))) }
    mutating func encode(_ value: Int) throws { put(.number(Double(value))) }
    mutating func encode(_ value: Int8) throws { put(.number(Double(value))) }
    mutating func encode(_ value: Int16) throws { put(.number(Double(value))) }
    mutating func encode(_ value: Int32) throws { put(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { put(.number(Double(value))) }
    mutating func encode(_ value: UInt) throws { put(.number(Double(value))) }
    mutating func encode(_ value: UInt8) throws { put(.number(Double(value))) }
    mutating func encode(_ value: UInt16) throws { put(.number(Double(value))) }
    mutating func encode(_ value: UInt32) throws { put(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { put(.number(Double(value))) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer, ScalarSink {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    func put(_ value: JSONValue) { node.appendChild().content = .single(value) }

    mutating func encode(_ value: some Encodable) throws {
        try ValueEncoder.encode(value, into: node.appendChild(), codingPath: codingPath + [IndexKey(count - 1)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.appendChild()
        child.makeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [IndexKey(count - 1)]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.appendChild()
        child.makeArray()
        return UnkeyedContainer(node: child, codingPath: codingPath + [IndexKey(count - 1)])
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.appendChild(), codingPath: codingPath + [IndexKey(count - 1)]) }
}

private struct SingleContainer: SingleValueEncodingContainer, ScalarSink {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    func put(_ value: JSONValue) { node.content = .single(value) }

    mutating func encode(_ value: some Encodable) throws { try ValueEncoder.encode(value, into: node, codingPath: codingPath) }
}

/// The coding key of an array element, for coding paths in errors.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}
