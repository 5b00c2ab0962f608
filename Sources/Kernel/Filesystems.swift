import CKernel
import Glibc

extension Sys {
    /// CGROUP2_SUPER_MAGIC, from <linux/magic.h>.
    public static let cgroup2Magic: Int64 = 0x6367_7270
    /// CGROUP_SUPER_MAGIC: a v1 hierarchy.
    public static let cgroupMagic: Int64 = 0x27e0eb
    /// OVERLAYFS_SUPER_MAGIC: an overlay cannot have its upper dir on one.
    public static let overlayfsMagic: Int64 = 0x794c_7630
    /// TMPFS_MAGIC: what holds the v1 hierarchies (and `unified`) on legacy and hybrid hosts.
    public static let tmpfsMagic: Int64 = 0x0102_1994

    /// NSFS_MAGIC: a `/proc/PID/ns/*` file, or a bind mount of one (a pinned namespace).
    public static let nsfsMagic: Int64 = 0x6e73_6673

    /// O_PATH, which Swift's Glibc module leaves out (it needs _GNU_SOURCE).
    public static let openPath: Int32 = ckernel_o_path()

    /// statfs(2)'s `f_type`, the magic number of the filesystem holding `path`: how cgroup
    /// mode detection tells a real cgroup2 mount from a v1 hierarchy or a plain directory.
    public static func filesystemType(_ path: String) throws(KernelError) -> Int64 {
        var type = 0
        _ = try check("statfs", path) { ckernel_statfs_type(path, &type) }
        return Int64(type)
    }

    /// The size of the filesystem holding `path`, in bytes (statfs f_blocks × f_bsize): a
    /// tmpfs's `size=` even when mountinfo leaves it out (Linux omits the default, half
    /// of RAM).
    public static func filesystemSize(_ path: String) throws(KernelError) -> Int64 {
        var bytes: UInt64 = 0
        _ = try check("statfs", path) { ckernel_statfs_size(path, &bytes) }
        return Int64(bytes)
    }
}
