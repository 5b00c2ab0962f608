import Foundation
import Testing

extension Integration.CLIPodTests {
    /// The pods of `diffEqualsApply`: a ConfigMap, `keep` (its files in a volume, limits
    /// resized in place) and, unless `withGone` is false, `gone`.
    static func diffApplyPods(command: String = "exec sleep 3600", memory: String = "32Mi", cpu: String = "200m",
                              greeting: String = "hello-v1", withGone: Bool = true) -> String {
        var text = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: conf}
            data: {greeting: \(greeting)}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: keep}
            spec:
              terminationGracePeriodSeconds: 1
              volumes: [{name: conf, configMap: {name: conf}}]
              containers:
              - name: app
                image: host
                command: [sh, -c, '\(command)']
                resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}, {resourceName: memory, restartPolicy: NotRequired}]
                resources: {limits: {memory: \(memory), cpu: \(cpu)}}
                volumeMounts: [{name: conf, mountPath: /conf}]

            """
        if withGone { text += "---\n" + singlePod("gone") + "\n" }
        return text
    }

    /// `[pod, op, what, reason]` of each object of a `diff -o json` or `apply -o json` list,
    /// and the objects themselves.
    static func actionRows(_ output: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (rows: [[String]], objects: [[String: Any]]) {
        let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8))
        let objects = try #require(parsed as? [[String: Any]], "a JSON array of objects: \(output)", sourceLocation: sourceLocation)
        let rows = objects.map { o in ["pod", "op", "what", "reason"].map { o[$0] as? String ?? "" } }
        return (rows, objects)
    }

    /// `diff` equals `apply`: for each kind of change, the actions `diff -o json` lists are
    /// the actions `apply -o json` then does, one for one (pod, op, what, reason), each ok;
    /// and `diff` is clean after. A new pod (create), a changed command (a new plan), higher
    /// limits with resizePolicy NotRequired (resize in place), a ConfigMap's new data in a
    /// volume (refreshFiles), a pod gone from the input with `--prune` (delete), and then its
    /// logs: a delete leaves them ("Logs stay until the next pass removes them"), so the diff
    /// after a prune is not clean but lists their removal, which the next apply does.
    @Test func diffEqualsApply() throws {
        let (lab, podrec) = try CLI.lab("cli-diff-apply")
        defer { podrec.finish() }
        let file = lab.tmp + "/pods.yaml"
        let last = Self.diffApplyPods(command: "echo v2; exec sleep 3600", memory: "48Mi", cpu: "300m", greeting: "hello-v2", withGone: false)
        let steps: [(name: String, manifest: String, flags: [String], expect: String, converges: Bool)] = [
            ("a new pod", Self.diffApplyPods(), [], "+ pod default/keep (app)", true),
            ("a changed command", Self.diffApplyPods(command: "echo v2; exec sleep 3600"), [], "plan generation 2", true),
            ("higher limits, in place", Self.diffApplyPods(command: "echo v2; exec sleep 3600", memory: "48Mi", cpu: "300m"), [], "(in place)", true),
            ("a ConfigMap's new data", Self.diffApplyPods(command: "echo v2; exec sleep 3600", memory: "48Mi", cpu: "300m", greeting: "hello-v2"),
             [], "volume files", true),
            // The deleted pod's logs stay, and are a difference at the next pass.
            ("a pod gone, pruned", last, ["--prune"], "- pod default/gone", false),
            ("the pruned pod's logs", last, ["--prune"], "logs \(lab.tmp)/log/pods/default_gone_", true),
        ]
        for step in steps {
            _ = try podrec.write("pods.yaml", step.manifest)
            let diff = try podrec.run([podrec.binary, "diff", "-f", file, "-o", "json"] + step.flags)
            #expect(diff.status == 1, "\(step.name): diff differs: \(diff.output)")
            let planned = try Self.actionRows(diff.output)
            #expect(!planned.rows.isEmpty, "\(step.name): diff lists something")
            #expect(planned.rows.contains { $0.joined(separator: " ").contains(step.expect) }, "\(step.name): \(planned.rows)")

            let apply = try podrec.run([podrec.binary, "apply", "-f", file, "-o", "json"] + step.flags)
            #expect(apply.status == 0, "\(step.name): \(apply.output)")
            let done = try Self.actionRows(apply.output)
            #expect(done.rows == planned.rows, "\(step.name): apply did what diff showed, one for one")
            #expect(done.objects.map { $0["result"] as? String } == done.objects.map { _ in "ok" }, "\(step.name): \(apply.output)")
            #expect(done.objects.allSatisfy { $0["error"] == nil }, "\(step.name): \(apply.output)")

            let after = try podrec.run([podrec.binary, "diff", "-f", file, "-o", "json"] + step.flags)
            let left = try Self.actionRows(after.output).rows
            if step.converges {
                #expect(after.status == 0 && left.isEmpty, "\(step.name): converged: \(after.output)")
            } else {
                #expect(left.count == 1 && left.first?[2].hasPrefix("logs \(lab.tmp)/log/pods/default_gone_") == true, "\(step.name): \(after.output)")
            }
        }
        // The last apply, again: nothing to do, an empty list.
        let again = try podrec.run([podrec.binary, "apply", "-f", file, "-o", "json", "--prune"])
        let nothing = try Self.actionRows(again.output).rows
        #expect(again.status == 0 && nothing.isEmpty, "\(again.output)")
        #expect(try podrec.getRows().map { $0.first } == ["keep"])
    }
}
