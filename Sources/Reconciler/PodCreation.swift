import Cgroups
import Kernel
import Manifest
import PodBuilder
import PodModel
import ContainerRuntime
import HostSetup

/// One pod from manifest to running processes, in the order ARCHITECTURE gives the
/// reconciler ("Who does what"): volumes, `/dev/shm`, `/etc/hosts` and `resolv.conf`, then
/// the launch plan, then cgroups and the supervisor (`PodLauncher`). The reconciler issue
/// calls this; so do the end-to-end tests.
public struct PodCreator: Sendable {
    public var supervisorExecutable: String
    public var driver: any CgroupDriver
    public var images: ImageLookup
    public var node: NodeFacts
    public var volumes: PodVolumes
    public var hostEntries: [String: HostEntry]
    public var files: FileLookup

    public init(supervisorExecutable: String, driver: any CgroupDriver, images: ImageLookup = .none, node: NodeFacts = NodeFacts(),
                volumes: PodVolumes = PodVolumes(), hostEntries: [String: HostEntry] = HostSystemDirectories.probe(),
                files: FileLookup = .host) {
        self.supervisorExecutable = supervisorExecutable
        self.driver = driver
        self.images = images
        self.node = node
        self.volumes = volumes
        self.hostEntries = hostEntries
        self.files = files
    }

    public func launcher(_ layout: PodLayout) -> PodLauncher {
        PodLauncher(layout: layout, supervisorExecutable: supervisorExecutable, driver: driver)
    }

    func input(_ pod: Pod, _ manifests: ManifestSet, _ layout: PodLayout, _ generation: Int,
               _ prepared: [String: PreparedVolume] = [:]) -> PodBuildInput {
        PodBuildInput(pod: pod, manifests: manifests, layout: layout, generation: generation, images: images,
                      hostEntries: hostEntries, preparedVolumes: prepared, node: node, files: files)
    }

    /// Prepares and builds without starting anything but the volumes: the plan and limits
    /// `create` and `update` hand to the launcher.
    public func build(_ pod: Pod, manifests: ManifestSet, layout: PodLayout, generation: Int) throws(PodCreationError) -> PodBuild {
        do {
            let specs = try LaunchPlanBuilder.volumeSpecs(input(pod, manifests, layout, generation))
            let prepared = try volumes.prepare(specs, layout: layout, podMemoryLimit: LaunchPlanBuilder.podMemoryLimit(pod))
            let build = try LaunchPlanBuilder.build(input(pod, manifests, layout, generation, prepared))
            if !pod.spec.hostIPC { _ = try volumes.prepareShm(layout: layout, size: build.shmSize) }
            if build.plan.containers.contains(where: { if case .image = $0.root { true } else { false } }) {
                try volumes.prepareOverlayScratch(layout: layout, podMemoryLimit: build.memoryLimit)
            }
            _ = try volumes.writeHosts(layout: layout, hostname: build.plan.hostname,
                                       aliases: pod.spec.hostAliases.map { ($0.ip, $0.hostnames) }, hostNetwork: pod.spec.hostNetwork)
            _ = try volumes.writeResolvConf(layout: layout)
            for dir in build.subPathDirectories { try Sys.makeDirectories(dir.path, beneath: dir.volume) }
            return build
        } catch let e as BuildError {
            throw .build(e)
        } catch let e as VolumeError {
            throw .volume(e)
        } catch let e as KernelError {
            throw .launch(.kernel(e))
        } catch {
            throw .launch(.other("\(error)"))
        }
    }

    /// Creates the pod and returns its first status (start errors included). A failure
    /// before the supervisor runs undoes what was made.
    @discardableResult
    public func create(_ pod: Pod, manifests: ManifestSet, layout: PodLayout, generation: Int = 1,
                       timeoutMilliseconds: Int64 = 10_000) throws(PodCreationError) -> PodStatus {
        let launcher = launcher(layout)
        do {
            let build = try build(pod, manifests: manifests, layout: layout, generation: generation)
            return try launcher.create(build.plan, limits: PodCgroupLimits(pod: build.podLimits, containers: build.containerLimits),
                                       timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            if (try? launcher.supervisor()) == nil {
                try? launcher.stop(graceMilliseconds: 0)
                try? launcher.removeState()
                try? volumes.teardown(layout: layout)
            }
            if let e = error as? PodCreationError { throw e }
            throw .launch(error as! LaunchError)
        }
    }

    /// Stops the pod gracefully, then removes its cgroups, state and volumes. Logs stay.
    public func delete(layout: PodLayout, graceMilliseconds: Int64 = 30_000) throws(PodCreationError) {
        let launcher = launcher(layout)
        do {
            try launcher.stop(graceMilliseconds: graceMilliseconds)
            try launcher.removeState()
        } catch { throw .launch(error) }
        do { try volumes.teardown(layout: layout) } catch { throw .volume(error) }
    }
}

public enum PodCreationError: Error, Sendable, CustomStringConvertible {
    case build(BuildError)
    case volume(VolumeError)
    case launch(LaunchError)

    public var description: String {
        switch self {
        case .build(let e): return e.description
        case .volume(let e): return e.description
        case .launch(let e): return e.description
        }
    }
}
