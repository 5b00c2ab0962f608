import Kernel
import PodModel
import Spawn

extension SpawnRequest {
    /// The container's identity from its launch plan: uid, gid and groups (root when the
    /// plan names none), capability sets (all when nil: privileged), no_new_privs and the
    /// seccomp program. The supervisor starts containers with it, and `exec`, exec probes
    /// and exec hooks join them with the same (`ContainerJoin`), so none of them escapes
    /// the container's filter.
    public mutating func takeIdentity(of spec: ContainerLaunch) {
        user = UserIdentity(uid: spec.uid ?? 0, gid: spec.gid ?? 0, groups: spec.supplementalGroups)
        if let caps = spec.capabilities {
            capabilities = SpawnRequest.Capabilities(
                bounding: CapabilitySet(rawValue: caps.bounding), effective: CapabilitySet(rawValue: caps.effective),
                permitted: CapabilitySet(rawValue: caps.permitted), inheritable: CapabilitySet(rawValue: caps.inheritable))
        }
        noNewPrivileges = spec.noNewPrivileges
        seccompFilter = spec.seccomp?.path
    }
}
