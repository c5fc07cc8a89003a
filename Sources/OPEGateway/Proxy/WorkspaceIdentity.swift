import Crypto
import Foundation
import OPECore
import Synchronization

/// Who is calling, as the proxy tells the workspace: the member's OPE name and team role in a
/// header signed with the workspace's own token (`python/ope-workspace`, `ope_workspace.identity`).
///
/// Only the proxy and the workspace know the token, and the proxy drops any `X-OPE-*` header a
/// browser sends, so the workspace can trust the pair: JupyterLab then shows each member under
/// their name (collaborators' cursors, the collaborators panel, `/api/me`).
struct WorkspaceIdentity: Sendable {
    static let header = "X-OPE-Identity"
    static let signatureHeader = "X-OPE-Identity-Signature"

    var username: String
    var name: String
    var displayName: String
    var initials: String
    /// One of JupyterLab's collaborator colours, by seat, so a team's colours do not clash.
    var color: String
    var role: String?

    init(user: User, seat: Int?, role: String?) {
        username = user.username
        name = user.displayName
        displayName = user.displayName
        initials = Self.initials(of: user.displayName.isEmpty ? user.username : user.displayName)
        color = "var(--jp-collaborator-color\((seat ?? 6) % 7 + 1))"
        self.role = role
    }

    /// "Alice Ämmälä" → "AÄ"; "bob" → "B"; "Alice (demo)" → "A": words that start with a letter.
    static func initials(of name: String) -> String {
        let words = name.split(whereSeparator: { $0.isWhitespace || $0 == "-" || $0 == "_" || $0 == "." })
        let initials = String(words.compactMap(\.first).filter(\.isLetter).prefix(2)).uppercased()
        return initials.isEmpty ? String(name.prefix(1)).uppercased() : initials
    }

    /// The two headers for `user` in seat `seat` with team role `role`, as ``headers(token:)``
    /// makes them.
    ///
    /// Every proxied request carries them, and building and signing them was most of the proxy's
    /// own work per request: they are kept per caller and workspace token (a new role or name is
    /// a new caller), and looked up before anything is built.
    static func headers(for user: User, seat: Int?, role: String?, token: String) -> [(name: String, value: String)] {
        let key = Caller(username: user.username, displayName: user.displayName, seat: seat, role: role, token: token)
        if let known = signed.withLock({ $0[key] }) { return known }
        let made = WorkspaceIdentity(user: user, seat: seat, role: role).headers(token: token)
        signed.withLock { signed in
            if signed.count >= 10_000 { signed.removeAll(keepingCapacity: true) }
            signed[key] = made
        }
        return made
    }

    private struct Caller: Hashable {
        var username: String
        var displayName: String
        var seat: Int?
        var role: String?
        var token: String
    }
    private static let signed = Mutex<[Caller: [(name: String, value: String)]]>([:])

    /// The two headers: the identity as URL-safe base64 JSON, and its HMAC-SHA256 keyed with `token`.
    func headers(token: String) -> [(name: String, value: String)] {
        var fields: [String: JSONValue] = [
            "username": .string(username), "name": .string(name), "display_name": .string(displayName), "initials": .string(initials),
            "color": .string(color),
        ]
        if let role { fields["role"] = .string(role) }
        let value = Data(JSONValue.jsonText(object: fields).utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
        return [(Self.header, value), (Self.signatureHeader, Self.sign(value, token: token))]
    }

    static func sign(_ value: String, token: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: SymmetricKey(data: Data(token.utf8)))
        return Hex.encode(mac)
    }
}
