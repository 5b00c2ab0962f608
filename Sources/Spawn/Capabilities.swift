import Kernel
import PodModel

// `Capability` and `CapabilitySet` are Kernel's; this is what a spawn asks for. It lives in
// SpawnRequest because Procfs has a top-level `Capabilities` (what /proc/PID/status shows).

extension SpawnRequest {
    /// The capability sets the process that execs is given, `capset(2)` after `setuid`.
    ///
    /// The ambient set is always cleared. For a non-root uid that means nothing survives
    /// `execve` but the bounding set (the kernel recomputes permitted from file capabilities),
    /// which is what runc and Docker do without an ambient list.
    public struct Capabilities: Sendable, Hashable {
        /// Everything else is dropped from the bounding set (`PR_CAPBSET_DROP`), for good.
        public var bounding: CapabilitySet
        public var effective: CapabilitySet
        public var permitted: CapabilitySet
        public var inheritable: CapabilitySet

        public init(bounding: CapabilitySet, effective: CapabilitySet, permitted: CapabilitySet, inheritable: CapabilitySet = []) {
            self.bounding = bounding
            self.effective = effective
            self.permitted = permitted
            self.inheritable = inheritable
        }

        /// `set` as the bounding, effective and permitted sets, and an empty inheritable set:
        /// since CVE-2022-29162 runc and Docker no longer fill the inheritable set, which would
        /// let a file's inheritable capabilities grant more than the container was given.
        public static func only(_ set: CapabilitySet) -> Capabilities {
            Capabilities(bounding: set, effective: set, permitted: set, inheritable: [])
        }

        /// `only(CapabilitySet(capabilities))`.
        public static func only(_ capabilities: [Capability]) -> Capabilities {
            only(CapabilitySet(capabilities))
        }

        /// No capability at all, in any set.
        public static let none = Capabilities.only(CapabilitySet())
    }
}
