import Cgroups
import ContainerRuntime
import HostSetup
import Manifest
import PodBuilder
import PodModel
import PodNetwork
import Reconciler

/// A manifest pod started as the executor's create starts it: its whole build
/// (`LaunchPlanBuilder.desired`), then `LiveHost`'s set-up and launch, for tests that look
/// at one pod without a whole pass.
struct LabCreator {
    let host: LiveHost
    let images: ImageLookup

    init(lab: PodLab, images: ImageLookup = .none) {
        // No pod network here (the facts below have none): the attacher only has a root.
        host = LiveHost(supervisorExecutable: PodLab.supervisorExecutable, driver: lab.driver,
                        network: NetworkAttacher(layout: NetworkLayout(root: lab.tmp + "/run"), settings: .host))
        self.images = images
    }

    func launcher(_ layout: PodLayout) -> PodLauncher { host.launcher(layout) }

    @discardableResult
    func create(_ pod: Pod, manifests: ManifestSet, layout: PodLayout) throws -> PodStatus {
        let facts = HostFacts(images: images, hostEntries: HostSystemDirectories.probe(), files: .host)
        let desired = try LaunchPlanBuilder.desired(pod, manifests: manifests, source: "apply", layout: layout, facts: facts)
        var plan = desired.plan
        plan.generation = 1
        try host.setUp(desired.setup, layout: layout)
        return try host.launch(plan, limits: desired.limits, network: desired.network, setup: desired.setup, layout: layout)
    }
}
