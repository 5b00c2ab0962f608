import Cgroups

/// Cgroups' `CgroupJoin`, which `SpawnRequest.CgroupJoin` hides inside the extension (and
/// the `Cgroups` enum hides the module's name).
private typealias CgroupTarget = CgroupJoin

extension SpawnRequest {
    /// Makes the process start in `path` of `driver`'s cgroups, the way each mode joins
    /// cheaply (ARCHITECTURE, "Joining a cgroup"): v1, the child writes `0` to the `tasks`
    /// files itself; v2, clone3 gets an O_PATH fd of the directory (CLONE_INTO_CGROUP).
    /// Returns the fds this opened (v1: none), for the caller to close once `spawn` has
    /// returned, whether it succeeded or not.
    public mutating func joinCgroup(_ path: String, of driver: any CgroupDriver) throws(CgroupError) -> [Int32] {
        switch try driver.joinTarget(path) {
        case .tasksFiles(let files):
            cgroup = .v1(tasksFiles: files)
            return []
        case .directory(let dir):
            let fd = try CgroupTarget.openDirectory(dir)
            cgroup = .v2(dirFD: fd, path: dir)
            return [fd]
        }
    }
}
