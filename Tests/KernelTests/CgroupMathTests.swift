import Cgroups
import Testing
import PodModel

/// Table tests for the kubelet arithmetic. Expected values are computed by hand from the
/// sources (helpers_linux.go, opencontainers/cgroups#20), not by the code under test.
@Suite struct CgroupMathTests {
    // kubelet: shares = milli*1024/1000 (integer division), clamped to [2, 262144];
    // no request → 2.
    @Test(arguments: [
        (nil, 2), (0, 2), (1, 2), (2, 2), (3, 3), (10, 10), (100, 102), (250, 256), (500, 512),
        (999, 1022), (1000, 1024), (1500, 1536), (4000, 4096), (255_999, 262_142), (256_000, 262_144),
        (300_000, 262_144), (Int64.max, 262_144), (-5, 2),
    ] as [(Int64?, Int64)])
    func milliCPUToShares(_ milli: Int64?, _ shares: Int64) {
        #expect(ResourceMath.milliCPUToShares(milli) == shares)
    }

    // kubelet: quota = milli*period/1000 µs, at least 1000 µs; no limit → -1.
    @Test(arguments: [
        (nil, 100_000, -1), (0, 100_000, -1), (1, 100_000, 1000), (9, 100_000, 1000), (10, 100_000, 1000),
        (11, 100_000, 1100), (100, 100_000, 10_000), (500, 100_000, 50_000), (1000, 100_000, 100_000),
        (2000, 100_000, 200_000), (500, 50_000, 25_000), (15, 50_000, 1000),
    ] as [(Int64?, Int64, Int64)])
    func milliCPUToQuota(_ milli: Int64?, _ period: Int64, _ quota: Int64) {
        #expect(ResourceMath.milliCPUToQuota(milli, period: period) == quota)
    }

    @Test func cpuMaxSpellsNoLimitAsMax() {
        #expect(ResourceMath.cpuMax(limitMilliCPU: nil) == CPUMax(quota: .max, period: 100_000))
        #expect(ResourceMath.cpuMax(limitMilliCPU: 500) == CPUMax(quota: .value(50_000), period: 100_000))
        #expect(ResourceMath.cpuMax(limitMilliCPU: 2000) == CPUMax(quota: .value(200_000), period: 100_000))
    }

    // opencontainers/cgroups ConvertCPUSharesToCgroupV2Value (2025):
    //   l = log2(shares); weight = ceil(10^((l² + 125 l)/612 − 7/34)), ≤2 → 1, ≥262144 → 10000.
    // Worked values (double precision, python3 math.log2/pow/ceil):
    //   3 → exponent 0.12195 → 1.3245 → 2        10 → 0.49065 → 3.095 → 4
    //   102 → 1.22970 → 16.97 → 17               256 → 1.53268 → 34.09 → 35
    //   512 → 1.76471 → 58.17 → 59               1000 → 1.99190 → 98.15 → 99
    //   1024 → exactly 2 → 100                   1025 → 2.00033 → 100.08 → 101
    //   2048 → 2.23856 → 173.2 → 174             4096 → 2.48039 → 302.3 → 303
    //   10000 → 2.79661 → 626.1 → 627            100000 → 3.63739 → 4339.2 → 4340
    //   262143 → 3.99999855 → 9999.97 → 10000
    @Test(arguments: [
        (0, 0), (1, 1), (2, 1), (3, 2), (10, 4), (102, 17), (256, 35), (512, 59), (1000, 99), (1024, 100),
        (1025, 101), (2048, 174), (4096, 303), (10_000, 627), (100_000, 4340), (262_143, 10_000),
        (262_144, 10_000), (1_000_000, 10_000),
    ] as [(Int64, Int64)])
    func sharesToWeight(_ shares: Int64, _ weight: Int64) {
        #expect(ResourceMath.sharesToWeight(shares) == weight)
    }

    @Test func theWeightIsMonotonicOverTheWholeRange() {
        var last: Int64 = 0
        var firstBad: Int64?
        for shares in Int64(2)...262_144 {
            let w = ResourceMath.sharesToWeight(shares)
            if w < last || w < 1 || w > 10_000 { firstBad = shares; break }
            last = w
        }
        #expect(firstBad == nil)
        // The old linear formula gave the default 1024 shares weight 39; the new one keeps 100.
        let oldFormula: Int64 = 1 + (1024 - 2) * 9999 / 262_142
        #expect(oldFormula == 39)
        #expect(ResourceMath.sharesToWeight(1024) == ResourceMath.defaultWeight)
    }
}

/// Pod-level limits, kubelet's cases (ResourceConfigForPod, PodRequests/PodLimits).
@Suite struct CgroupPodResourceTests {
    static let mi: Int64 = 1 << 20
    static let gi: Int64 = 1 << 30

    typealias C = ContainerResources

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var containers: [ContainerResources]
        var podLevel: PodLevelResources?
        var shares: Int64
        var quota: CgroupLimit
        var memory: CgroupLimit
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "BestEffort: nothing declared → 2 shares, no quota, no memory limit",
             containers: [C(), C()], shares: 2, quota: .max, memory: .max),
        Case(name: "Guaranteed, one container",
             containers: [C(cpuRequest: 500, cpuLimit: 500, memoryRequest: 64 * mi, memoryLimit: 64 * mi)],
             shares: 512, quota: .value(50_000), memory: .value(64 * mi)),
        Case(name: "every container limited → limits sum",
             containers: [C(cpuRequest: 250, cpuLimit: 500, memoryLimit: 128 * mi), C(cpuRequest: 250, cpuLimit: 1000, memoryLimit: 256 * mi)],
             shares: 512, quota: .value(150_000), memory: .value(384 * mi)),
        Case(name: "one container without limits → pod unlimited, shares still sum the requests",
             containers: [C(cpuRequest: 100, cpuLimit: 500, memoryLimit: 128 * mi), C(cpuRequest: 200)],
             shares: 307, quota: .max, memory: .max),
        Case(name: "cpu limited everywhere, memory not → quota only",
             containers: [C(cpuLimit: 500, memoryLimit: 64 * mi), C(cpuLimit: 500)],
             shares: 1024, quota: .value(100_000), memory: .max),
        Case(name: "missing request defaults to the limit",
             containers: [C(cpuLimit: 1000, memoryLimit: 64 * mi)],
             shares: 1024, quota: .value(100_000), memory: .value(64 * mi)),
        Case(name: "an init container bigger than the sum sets the pod limit",
             containers: [C(role: .initContainer, cpuRequest: 2000, cpuLimit: 2000, memoryLimit: gi),
                          C(cpuRequest: 500, cpuLimit: 500, memoryLimit: 256 * mi), C(cpuRequest: 500, cpuLimit: 500, memoryLimit: 256 * mi)],
             shares: 2048, quota: .value(200_000), memory: .value(gi)),
        Case(name: "a smaller init container changes nothing",
             containers: [C(role: .initContainer, cpuRequest: 100, cpuLimit: 100, memoryLimit: 32 * mi),
                          C(cpuRequest: 500, cpuLimit: 500, memoryLimit: 256 * mi)],
             shares: 512, quota: .value(50_000), memory: .value(256 * mi)),
        Case(name: "an init container without a limit makes the pod unlimited",
             containers: [C(role: .initContainer, cpuRequest: 100), C(cpuLimit: 500, memoryLimit: 64 * mi)],
             shares: 512, quota: .max, memory: .max),
        Case(name: "a sidecar counts with the main containers, and with init containers after it",
             containers: [C(role: .sidecar, cpuLimit: 100, memoryLimit: 64 * mi),
                          C(role: .initContainer, cpuLimit: 1000, memoryLimit: 512 * mi),
                          C(cpuLimit: 500, memoryLimit: 256 * mi)],
             // running: 100+500 = 600m, 320Mi; init phase: 1000+100 = 1100m, 512+64 = 576Mi.
             shares: 1126, quota: .value(110_000), memory: .value(576 * mi)),
        Case(name: "an init container before the sidecar runs without it",
             containers: [C(role: .initContainer, cpuLimit: 1000, memoryLimit: 512 * mi),
                          C(role: .sidecar, cpuLimit: 100, memoryLimit: 64 * mi),
                          C(cpuLimit: 500, memoryLimit: 256 * mi)],
             shares: 1024, quota: .value(100_000), memory: .value(512 * mi)),
        Case(name: "two sidecars accumulate in init order",
             containers: [C(role: .sidecar, cpuLimit: 300, memoryLimit: 100 * mi),
                          C(role: .sidecar, cpuLimit: 300, memoryLimit: 100 * mi),
                          C(role: .initContainer, cpuLimit: 200, memoryLimit: 100 * mi),
                          C(cpuLimit: 100, memoryLimit: 50 * mi)],
             // running: 700m, 250Mi; init phase peak: 200+600 = 800m, 100+200 = 300Mi.
             shares: 819, quota: .value(80_000), memory: .value(300 * mi)),
        Case(name: "pod-level limits replace the sum, and default the pod-level requests",
             containers: [C(cpuRequest: 100), C()],
             podLevel: PodLevelResources(cpuLimit: 2000, memoryLimit: gi),
             shares: 2048, quota: .value(200_000), memory: .value(gi)),
        Case(name: "pod-level requests only: shares from them, limits from the containers",
             containers: [C(cpuLimit: 500, memoryLimit: 64 * mi)],
             podLevel: PodLevelResources(cpuRequest: 1500),
             shares: 1536, quota: .value(50_000), memory: .value(64 * mi)),
        Case(name: "pod-level memory limit only: cpu still from the containers",
             containers: [C(cpuLimit: 500), C(cpuLimit: 250)],
             podLevel: PodLevelResources(memoryLimit: 512 * mi),
             shares: 768, quota: .value(75_000), memory: .value(512 * mi)),
    ]

    @Test(arguments: cases)
    func podCgroupLimits(_ c: Case) {
        let limits = PodResources.podCgroupLimits(c.containers, podLevel: c.podLevel)
        #expect(limits.cpuShares == c.shares)
        #expect(limits.cpuMax?.quota == c.quota)
        #expect(limits.cpuMax?.period == 100_000)
        #expect(limits.memory == c.memory)
        #expect(limits.pids == nil)
    }

    @Test func totalsKeepRequestsAndLimitsApart() {
        let t = PodResources.totals([
            C(role: .initContainer, cpuRequest: 800, memoryRequest: 10 * Self.mi),
            C(cpuRequest: 100, cpuLimit: 200, memoryRequest: 20 * Self.mi, memoryLimit: 40 * Self.mi),
            C(cpuRequest: 300, memoryRequest: 30 * Self.mi, memoryLimit: 60 * Self.mi),
        ])
        #expect(t.cpuRequest == 800)              // max(100+300, 800)
        #expect(t.memoryRequest == 50 * Self.mi)  // max(20+30, 10)
        #expect(t.cpuLimit == nil)                // two containers have no cpu limit
        #expect(t.memoryLimit == nil)             // the init container has no memory limit
    }

    @Test func containerLimits() {
        #expect(PodResources.containerCgroupLimits(C(cpuRequest: 250, cpuLimit: 500, memoryLimit: 64 * Self.mi))
                == CgroupLimits(cpuShares: 256, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(64 * Self.mi)))
        #expect(PodResources.containerCgroupLimits(C())
                == CgroupLimits(cpuShares: 2, cpuMax: .unlimited, memory: .max))
        #expect(PodResources.containerCgroupLimits(C(cpuLimit: 1500))
                == CgroupLimits(cpuShares: 1536, cpuMax: CPUMax(quota: .value(150_000)), memory: .max))
    }
}

@Suite struct CgroupNamesTests {
    @Test func fnv1a64KnownVectors() {
        // Reference values of FNV-1a 64 (Fowler/Noll/Vo test suite).
        #expect(FNV1a.hash64(Array("".utf8)) == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a.hash64(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
    }

    @Test func shortNamesAreKept() {
        #expect(CgroupNames.component("default_web_0b9c") == "default_web_0b9c")
        let exactly255 = String(repeating: "x", count: 255)
        #expect(CgroupNames.component(exactly255) == exactly255)
    }

    @Test func longNamesKeepAPrefixAndEndInTheHashOfTheWholeName() {
        let ns = String(repeating: "n", count: 63)
        let name = String(repeating: "p", count: 253)
        let uid = "0b9c1d7e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"
        let full = "\(ns)_\(name)_\(uid)"
        let short = CgroupNames.pod(namespace: ns, name: name, uid: uid)
        #expect(short.utf8.count == 255)
        #expect(short.hasPrefix(String(full.prefix(238))))
        let hash = String(FNV1a.hash64(Array(full.utf8)), radix: 16)
        #expect(short == String(full.prefix(238)) + "-" + String(repeating: "0", count: 16 - hash.count) + hash)
        // Same prefix, different tail: different names.
        #expect(CgroupNames.component(full + "x") != CgroupNames.component(full + "y"))
        // Stable.
        #expect(CgroupNames.component(full) == short)
    }

    @Test func shorteningNeverSplitsACharacter() {
        // 237 ASCII bytes, then 3-byte characters: byte 238 falls inside one.
        let name = String(repeating: "a", count: 237) + String(repeating: "€", count: 20)
        let short = CgroupNames.component(name)
        #expect(short.utf8.count <= 255)
        #expect(short.hasPrefix(String(repeating: "a", count: 237) + "-"))
        #expect(short.utf8.count == 237 + 1 + 16)
    }

    @Test func pathsFollowTheLayout() {
        #expect(CgroupNames.infraPath(parent: "podrec", namespace: "default", name: "web", uid: "u1") == "podrec/default_web_u1/_infra")
        #expect(CgroupNames.containerPath(parent: "podrec/", namespace: "default", name: "web", uid: "u1", container: "nginx") == "podrec/default_web_u1/nginx")
        #expect(CgroupNames.podPath(parent: "", namespace: "kube-system", name: "dns", uid: "u2") == "kube-system_dns_u2")
    }
}
