import Planner
import PodModel
import Testing

/// What the planner does with `activeDeadlineSeconds` and the pod's start time.
@Suite struct DeadlinePlanTests {
    typealias P = PlannerTests
    static let start = WallTime(1_700_000_000 * 1_000_000_000)

    /// The host as `desired` asks, its record and plan holding the start time.
    static func observed(_ d: DesiredPod, deadline: Int64?) -> Observed {
        var o = P.observed(from: d)
        o.pods[d.key]!.record!.startTime = start
        o.pods[d.key]!.plan!.startTime = start
        o.pods[d.key]!.plan!.activeDeadlineSeconds = deadline
        return o
    }

    static func desired(deadline: Int64?) -> DesiredPod {
        var d = P.desired()
        d.plan.activeDeadlineSeconds = deadline
        return d
    }

    /// The desired plan has no start time (the builder cannot know it): the recorded one is
    /// put in, so an unchanged pod is unchanged, and a new plan carries it.
    @Test func theRecordedStartTimeIsCarried() {
        #expect(P.kinds(P.run(Self.desired(deadline: 30), Self.observed(Self.desired(deadline: 30), deadline: 30))) == [])
        let lowered = P.run(Self.desired(deadline: 10), Self.observed(Self.desired(deadline: 30), deadline: 30))
        #expect(P.kinds(lowered) == ["update g4 restart[] add[] remove[]"])
        guard case .updatePlan(let d, _, _, _, _)? = lowered.first?.kind else { return }
        #expect(d.plan.startTime == Self.start)
        #expect(d.plan.activeDeadlineSeconds == 10)
        #expect(lowered.first?.details.map(\.description) == ["~ activeDeadlineSeconds: 30s → 10s"])
        #expect(lowered.first?.reason == "pod settings changed, no container restarts")
        // Added where there was none: allowed too.
        #expect(P.kinds(P.run(Self.desired(deadline: 10), Self.observed(Self.desired(deadline: nil), deadline: nil))) == ["update g4 restart[] add[] remove[]"])
    }

    /// A pod made again (its supervisor died) keeps its start: the deadline is not reset.
    @Test func aRecreateKeepsTheStartTime() {
        var o = Self.observed(Self.desired(deadline: 30), deadline: 30)
        o.pods[P.key]!.supervisor = .dead
        let actions = P.run(Self.desired(deadline: 30), o)
        guard case .recreate(let d)? = actions.first?.kind else { Issue.record("\(P.kinds(actions))"); return }
        #expect(d.plan.startTime == Self.start)
    }

    /// ValidatePodUpdate: raised or removed is refused, and the pod is left as it is.
    @Test func raisingOrRemovingIsRefused() {
        let raised = P.run(Self.desired(deadline: 60), Self.observed(Self.desired(deadline: 30), deadline: 30))
        #expect(P.kinds(raised) == ["refuse default/web"])
        #expect(raised.first?.reason == "spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value")
        let removed = P.run(Self.desired(deadline: nil), Self.observed(Self.desired(deadline: 30), deadline: 30))
        #expect(P.kinds(removed) == ["refuse default/web"])
    }

    /// A pod its supervisor failed for its deadline is finished: reported, never a change,
    /// whatever else differs (kubelet never runs a Failed pod's containers again).
    @Test func aPodPastItsDeadlineIsLeftAlone() {
        var o = Self.observed(Self.desired(deadline: 2), deadline: 2)
        o.pods[P.key]!.status = PodStatus(observedGeneration: 3, phase: .failed)
        o.pods[P.key]!.status!.reason = ActiveDeadline.reason
        o.pods[P.key]!.status!.message = ActiveDeadline.message
        var changed = Self.desired(deadline: 2)
        changed.plan.containers[0].specHash = "h2"
        let plan = Planner.plan(desired: [changed], observed: o, options: PlanOptions())
        #expect(P.kinds(plan.actions) == ["finished default/web"])
        #expect(!plan.hasChanges)
        #expect(plan.actions.first?.reason.hasPrefix("Failed (DeadlineExceeded): Pod was active on the node longer than the specified deadline") == true)
    }
}
