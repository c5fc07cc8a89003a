import Crypto
import Foundation
import OPECore
import OPEStore

/// The sign-in form's CSRF token: random, signed by this server, valid for an hour and only for
/// the address that asked for the form. It is sent both as the `ope_login` cookie and in the form
/// (double submit), and the signature stops the attack double submit alone lets through: a cookie
/// planted by a neighbouring site together with a matching field, to sign a victim in to the
/// attacker's account. A token the attacker fetched for themselves fails on the address.
struct LoginToken: Sendable {
    private let key: SymmetricKey
    let lifetime: TimeInterval

    /// A new key per server start: forms from before a restart ask to be sent again.
    init(key: SymmetricKey = SymmetricKey(size: .bits256), lifetime: TimeInterval = 3600) {
        self.key = key
        self.lifetime = lifetime
    }

    /// `random.expiry.signature` for a form shown to `address` at `now`.
    func issue(for address: String?, now: Date) -> String {
        let body = SecretToken.generate() + "." + String(Int(now.timeIntervalSince1970 + lifetime))
        return body + "." + signature(body, address: address)
    }

    /// Whether `token` came from this server, for `address`, and is still fresh.
    func isValid(_ token: String, for address: String?, now: Date) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = TimeInterval(parts[1]), now.timeIntervalSince1970 < expiry else { return false }
        let body = parts[0] + "." + parts[1]
        return CSRFMiddleware.constantTimeEqual(signature(String(body), address: address), String(parts[2]))
    }

    private func signature(_ body: String, address: String?) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data((body + "|" + (address ?? "")).utf8), using: key)
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
