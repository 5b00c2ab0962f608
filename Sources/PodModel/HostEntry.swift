/// How an allowlisted system dir exists on the host.
public enum HostEntry: Sendable, Hashable {
    /// A real directory: bound read-only, recursively.
    case directory
    /// A symlink, as `/bin -> usr/bin` on a merged-/usr system: made again, as the same
    /// symlink, inside the new root.
    case symlink(target: String)
}
