import Crypto
import CryptoExtras
import Foundation

/// Hashes passwords with scrypt (a slow, memory-hard, salted KDF) and verifies them.
///
/// The stored form names its parameters, `$scrypt$ln=14,r=8,p=1$<salt>$<key>`, so that the cost
/// can be raised later without breaking existing accounts.
public struct PasswordHasher: Sendable {
    /// log2 of scrypt's N (CPU/memory cost).
    public var logN: Int
    public var blockSize: Int
    public var parallelism: Int

    /// The production cost: N = 2^14, r = 8, p = 1 (16 MiB, tens of milliseconds per hash).
    public static let standard = PasswordHasher(logN: 14, blockSize: 8, parallelism: 1)

    public init(logN: Int, blockSize: Int, parallelism: Int) {
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    public func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let key = try Self.derive(password, salt: salt, logN: logN, blockSize: blockSize, parallelism: parallelism)
        return "$scrypt$ln=\(logN),r=\(blockSize),p=\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    /// Whether `password` matches `stored`; false for anything malformed.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == "scrypt" else { return false }
        var parameters: [String: Int] = [:]
        for pair in parts[1].split(separator: ",") {
            let keyValue = pair.split(separator: "=")
            guard keyValue.count == 2, let value = Int(keyValue[1]) else { return false }
            parameters[String(keyValue[0])] = value
        }
        guard let logN = parameters["ln"], let r = parameters["r"], let p = parameters["p"], (1...20).contains(logN),
            let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3]))
        else { return false }
        guard let key = try? derive(password, salt: Array(salt), logN: logN, blockSize: r, parallelism: p) else { return false }
        return constantTimeEqual(key, Array(expected))
    }

    /// A hash that matches no password, verified against for unknown users so that a failed
    /// sign-in takes as long whether or not the username exists.
    public static let decoy: String = (try? standard.hash(UUID().uuidString)) ?? ""

    static func derive(_ password: String, salt: [UInt8], logN: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: blockSize,
            parallelism: parallelism
        )
        return key.withUnsafeBytes { Array($0) }
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
