import Crypto
import Foundation
import OPECore

/// Random secrets (session cookies, API tokens, CSRF tokens, generated passwords) and the hashes
/// under which they are stored: the database never holds a usable secret.
public enum SecretToken {
    /// 32 random bytes as URL-safe base64 without padding.
    public static func generate(bytes: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A password people can type: four groups of lowercase letters and digits.
    public static func password() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let groups = (0..<4).map { _ in String((0..<4).map { _ in alphabet.randomElement(using: &generator)! }) }
        return groups.joined(separator: "-")
    }

    /// SHA-256 of a high-entropy token, hex encoded; enough for tokens, unlike for passwords.
    public static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }
}
