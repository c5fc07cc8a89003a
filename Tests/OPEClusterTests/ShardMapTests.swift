import OPECore
import Testing

@Suite struct ShardMapTests {
    @Test func sessionIDsNameTheirCore() {
        let map = ShardMap(count: 3)
        #expect(map.shard(ofSession: "s2-abcdefghij") == 2)
        #expect(map.shard(ofSession: "s12-abcdefghij") == nil)  // beyond this cluster
        #expect(map.shard(ofSession: "s-abcdefghij") == nil)  // all-in-one
        #expect(map.shard(ofSession: "sx-abc") == nil)
        #expect(map.shard(ofSession: "nonsense") == nil)
        #expect(ShardMap.sessionPrefix(core: 1) == "s1-")
        #expect(ShardMap.sessionPrefix(core: nil) == "s-")
    }

    @Test func aModulesHomeIsStableAndSpread() {
        let map = ShardMap(count: 2)
        // The same in every process and release: FNV-1a, not Hasher.
        #expect(map.home(ofModule: "python-intro") == Int(StableHash.fnv1a("python-intro") % 2))
        #expect(StableHash.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(StableHash.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
        let homes = (0..<100).map { map.home(ofModule: "module-\($0)") }
        #expect(homes.filter { $0 == 0 }.count > 30)
        #expect(homes.filter { $0 == 1 }.count > 30)
    }
}
