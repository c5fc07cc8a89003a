import NIOCore

/// Just enough of the Yjs sync protocol (y-protocols) to tell, from a message a browser sends on a
/// collaboration socket, whether it changes the document and whether that change is only
/// JupyterLab's bookkeeping: a value set in the document's `state` map (that it is open, whether
/// it is dirty), which a page writes by itself and a person did not type.
///
/// Message: varuint type (0 = sync), varuint sync step (1 = step 2, 2 = update), then the update
/// as a length-prefixed byte array. Update (v1): varuint client count; per client a varuint struct
/// count, the client and its first clock; then the structs, each starting with an info byte
/// (bit 7: has a left origin, bit 6: a right origin, bit 5: a map key; low 5 bits: content kind).
/// An item with neither origin names its parent: 1 and a root type's name, or 0 and an item id.
public enum YjsMessage {
    /// What a browser's message does to the document.
    public enum Kind: Sendable, Equatable {
        /// Awareness (cursors), the first sync's step 1, anything else: no change.
        case other
        /// A change of the document's content.
        case edit
        /// A value set in the `state` map by the page itself.
        case bookkeeping
    }

    public static func kind(of message: ByteBuffer) -> Kind {
        var buffer = message
        guard buffer.readVarUInt() == 0, let step = buffer.readVarUInt(), step == 1 || step == 2 else { return .other }
        guard let length = buffer.readVarUInt(), length <= buffer.readableBytes else { return .edit }
        // An empty update (no structs, no deletions) is what a page with nothing new answers.
        if step == 1, length <= 2 { return .other }
        guard buffer.readVarUInt() == 1, buffer.readVarUInt() == 1, buffer.readVarUInt() != nil, buffer.readVarUInt() != nil,
            let info = buffer.readInteger(as: UInt8.self), info & 0x1f != 0, info & 0x1f != 10, info & 0xc0 == 0,
            buffer.readVarUInt() == 1, let root = buffer.readVarString()
        else { return .edit }
        return root == "state" ? .bookkeeping : .edit
    }
}

extension ByteBuffer {
    /// A lib0 varuint: 7 bits a byte, low bits first, the top bit set on all but the last.
    fileprivate mutating func readVarUInt() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = readInteger(as: UInt8.self) {
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    fileprivate mutating func readVarString() -> String? {
        guard let length = readVarUInt(), length <= readableBytes else { return nil }
        return readString(length: Int(length))
    }
}
