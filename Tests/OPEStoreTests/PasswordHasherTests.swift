import OPEStore
import Testing

@Suite struct PasswordHasherTests {
    @Test func verifiesTheRightPasswordOnly() throws {
        let hasher = PasswordHasher(logN: 10, blockSize: 8, parallelism: 1)
        let hash = try hasher.hash("correct horse battery")
        #expect(hash.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        #expect(PasswordHasher.verify("correct horse battery", against: hash))
        #expect(!PasswordHasher.verify("correct horse batterY", against: hash))
        #expect(!PasswordHasher.verify("", against: hash))
    }

    @Test func saltsMakeEqualPasswordsHashDifferently() throws {
        let hasher = PasswordHasher(logN: 10, blockSize: 8, parallelism: 1)
        let first = try hasher.hash("same password")
        let second = try hasher.hash("same password")
        #expect(first != second)
        #expect(PasswordHasher.verify("same password", against: first) && PasswordHasher.verify("same password", against: second))
    }

    @Test func standardCostIsSlowAndMemoryHard() throws {
        let hash = try PasswordHasher.standard.hash("a password")
        #expect(hash.hasPrefix("$scrypt$ln=14,r=8,p=1$"))
        #expect(PasswordHasher.verify("a password", against: hash))
    }

    @Test(arguments: ["", "plain", "$scrypt$ln=10$x", "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", "$bcrypt$ln=10,r=8,p=1$AAAA$AAAA", "$scrypt$ln=10,r=8,p=1$!!$??"])
    func malformedHashesNeverVerify(stored: String) {
        #expect(!PasswordHasher.verify("anything", against: stored))
    }
}
