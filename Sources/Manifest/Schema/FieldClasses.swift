/// What podrec does with a manifest field. Every field of PodSpec and Container is in
/// exactly one class, in `FieldClasses.table`; a test checks the table against the
/// upstream schema and against `schemas/`.
public enum FieldClass: Sendable, Hashable {
    /// Does what Kubernetes documents.
    case honoured
    /// Means something only in a cluster; accepted (and still checked against the
    /// upstream schema) with a warning that gives the reason.
    case ignored(String)
    /// Would change behaviour, and podrec cannot honour it yet: an error with the reason.
    case refused(String)
}

public enum FieldClasses {
    static let scheduling = "scheduling has no meaning on a single host"
    static let noServiceAccount = "podrec has no service accounts or API server"
    static let singleHostVolume = "not supported on a single host; use hostPath"

    /// `Type.field` → class. Fields of types not named here take the class of the field
    /// that contains them (the fields of an honoured volume source are honoured, and so on).
    public static let table: [String: FieldClass] = [
        // Pod
        "Pod.apiVersion": .honoured, "Pod.kind": .honoured, "Pod.metadata": .honoured, "Pod.spec": .honoured,
        "Pod.status": .ignored("status is written by podrec, not read from the manifest"),

        // ObjectMeta
        "ObjectMeta.name": .honoured, "ObjectMeta.namespace": .honoured,
        "ObjectMeta.labels": .honoured, "ObjectMeta.annotations": .honoured,
        "ObjectMeta.generateName": .refused("podrec needs a fixed metadata.name"),
        "ObjectMeta.uid": .ignored("podrec assigns the uid"),
        "ObjectMeta.resourceVersion": .ignored("set by an API server"),
        "ObjectMeta.generation": .ignored("set by an API server"),
        "ObjectMeta.creationTimestamp": .ignored("set by an API server"),
        "ObjectMeta.deletionTimestamp": .ignored("set by an API server"),
        "ObjectMeta.deletionGracePeriodSeconds": .ignored("set by an API server"),
        "ObjectMeta.managedFields": .ignored("set by an API server"),
        "ObjectMeta.selfLink": .ignored("set by an API server"),
        "ObjectMeta.ownerReferences": .ignored("there is no garbage collector on a single host"),
        "ObjectMeta.finalizers": .ignored("there is no API server to run finalizers"),

        // PodSpec
        "PodSpec.containers": .honoured,
        "PodSpec.initContainers": .honoured,
        "PodSpec.volumes": .honoured,
        "PodSpec.restartPolicy": .honoured,
        "PodSpec.terminationGracePeriodSeconds": .honoured,
        "PodSpec.activeDeadlineSeconds": .honoured,
        "PodSpec.hostNetwork": .honoured,
        "PodSpec.hostPID": .honoured,
        "PodSpec.hostIPC": .honoured,
        "PodSpec.shareProcessNamespace": .honoured,
        "PodSpec.hostname": .honoured,
        "PodSpec.subdomain": .honoured,
        "PodSpec.hostAliases": .honoured,
        "PodSpec.dnsConfig": .honoured,
        "PodSpec.dnsPolicy": .honoured,
        "PodSpec.securityContext": .honoured,
        "PodSpec.resources": .honoured,
        "PodSpec.os": .honoured,
        "PodSpec.hostUsers": .honoured,
        "PodSpec.setHostnameAsFQDN": .refused("there is no cluster domain to form a FQDN from"),
        "PodSpec.ephemeralContainers": .refused("ephemeral containers cannot be set in a manifest; use `podrec exec`"),
        "PodSpec.resourceClaims": .refused("dynamic resource allocation needs a cluster"),
        "PodSpec.runtimeClassName": .refused("podrec is the only runtime; a RuntimeClass would change how containers run"),
        "PodSpec.nodeName": .ignored(scheduling),
        "PodSpec.nodeSelector": .ignored(scheduling),
        "PodSpec.affinity": .ignored(scheduling),
        "PodSpec.tolerations": .ignored(scheduling),
        "PodSpec.topologySpreadConstraints": .ignored(scheduling),
        "PodSpec.schedulerName": .ignored(scheduling),
        "PodSpec.schedulingGates": .ignored(scheduling),
        "PodSpec.priority": .ignored(scheduling),
        "PodSpec.priorityClassName": .ignored(scheduling),
        "PodSpec.preemptionPolicy": .ignored(scheduling),
        "PodSpec.overhead": .ignored("pod overhead is set by a RuntimeClass in a cluster"),
        "PodSpec.readinessGates": .ignored("readiness gates are set by cluster controllers"),
        "PodSpec.serviceAccountName": .ignored(noServiceAccount),
        "PodSpec.serviceAccount": .ignored(noServiceAccount),
        "PodSpec.automountServiceAccountToken": .ignored(noServiceAccount),
        "PodSpec.enableServiceLinks": .ignored("there are no Services on a single host"),
        "PodSpec.imagePullSecrets": .honoured,

        // Container (and init containers, and native sidecars)
        "Container.name": .honoured,
        "Container.image": .honoured,
        "Container.command": .honoured,
        "Container.args": .honoured,
        "Container.workingDir": .honoured,
        "Container.env": .honoured,
        "Container.envFrom": .honoured,
        "Container.ports": .honoured,
        "Container.resources": .honoured,
        "Container.resizePolicy": .honoured,
        "Container.restartPolicy": .honoured,
        "Container.volumeMounts": .honoured,
        "Container.livenessProbe": .honoured,
        "Container.readinessProbe": .honoured,
        "Container.startupProbe": .honoured,
        "Container.lifecycle": .honoured,
        "Container.securityContext": .honoured,
        "Container.imagePullPolicy": .honoured,
        "Container.terminationMessagePath": .honoured,
        "Container.terminationMessagePolicy": .honoured,
        "Container.stdin": .honoured,
        "Container.stdinOnce": .honoured,
        "Container.tty": .honoured,
        "Container.volumeDevices": .refused("raw block volumes need a PersistentVolumeClaim; " + singleHostVolume),

        // ResourceRequirements
        "ResourceRequirements.claims": .refused("dynamic resource allocation needs a cluster"),

        // Volume sources
        "Volume.name": .honoured,
        "Volume.emptyDir": .honoured,
        "Volume.hostPath": .honoured,
        "Volume.configMap": .honoured,
        "Volume.secret": .honoured,
        "Volume.persistentVolumeClaim": .refused(singleHostVolume),
        "Volume.ephemeral": .refused(singleHostVolume),
        "Volume.projected": .honoured,
        "Volume.downwardAPI": .honoured,
        "Volume.image": .refused("image volumes are not supported yet"),
        "Volume.csi": .refused(singleHostVolume),
        "Volume.gitRepo": .refused("gitRepo is deprecated in Kubernetes; clone into an emptyDir in an init container"),
        "Volume.awsElasticBlockStore": .refused(singleHostVolume),
        "Volume.azureDisk": .refused(singleHostVolume),
        "Volume.azureFile": .refused(singleHostVolume),
        "Volume.cephfs": .refused(singleHostVolume),
        "Volume.cinder": .refused(singleHostVolume),
        "Volume.fc": .refused(singleHostVolume),
        "Volume.flexVolume": .refused(singleHostVolume),
        "Volume.flocker": .refused(singleHostVolume),
        "Volume.gcePersistentDisk": .refused(singleHostVolume),
        "Volume.glusterfs": .refused(singleHostVolume),
        "Volume.iscsi": .refused(singleHostVolume),
        "Volume.nfs": .refused(singleHostVolume),
        "Volume.photonPersistentDisk": .refused(singleHostVolume),
        "Volume.portworxVolume": .refused(singleHostVolume),
        "Volume.quobyte": .refused(singleHostVolume),
        "Volume.rbd": .refused(singleHostVolume),
        "Volume.scaleIO": .refused(singleHostVolume),
        "Volume.storageos": .refused(singleHostVolume),
        "Volume.vsphereVolume": .refused(singleHostVolume),

        // Projected volume sources: the ones that need a cluster's API server to sign or
        // publish their contents.
        "VolumeProjection.serviceAccountToken": .refused("service-account tokens are issued by an API server; " + noServiceAccount),
        "VolumeProjection.clusterTrustBundle": .refused("ClusterTrustBundles are objects of an API server, which podrec does not have"),

        // VolumeMount
        "VolumeMount.subPathExpr": .refused("subPathExpr is not supported yet; use subPath"),
        "VolumeMount.recursiveReadOnly": .refused("recursiveReadOnly is not supported yet"),

        // Probes and hooks
        "LifecycleHandler.tcpSocket": .refused("Kubernetes does not run tcpSocket lifecycle hooks; use exec, httpGet or sleep"),

        // Security contexts
        "SecurityContext.seLinuxOptions": .ignored("SELinux labels are not applied"),
        "SecurityContext.seccompProfile": .honoured,
        "SecurityContext.appArmorProfile": .ignored("AppArmor profiles are not applied"),
        "SecurityContext.windowsOptions": .ignored("Windows options apply only to Windows nodes"),
        "PodSecurityContext.seLinuxOptions": .ignored("SELinux labels are not applied"),
        "PodSecurityContext.seLinuxChangePolicy": .ignored("SELinux labels are not applied"),
        "PodSecurityContext.seccompProfile": .honoured,
        "PodSecurityContext.appArmorProfile": .ignored("AppArmor profiles are not applied"),
        "PodSecurityContext.windowsOptions": .ignored("Windows options apply only to Windows nodes"),
        "PodSecurityContext.supplementalGroupsPolicy": .refused("supplementalGroupsPolicy is not supported yet"),
    ]

    /// The class of `field` on the schema type named `type`, or nil when the table does
    /// not name it (then it inherits).
    public static func classOf(type: String?, field: String) -> FieldClass? {
        guard let type else { return nil }
        return table[type + "." + field]
    }

    /// Whether the API server's rules for an ignored field are applied
    /// (`IgnoredFieldValidation`, Kubernetes 1.32): yes for every ignored field of PodSpec,
    /// Container and the security contexts, some of which have no rule beyond the schema
    /// (schedulerName, priority, stdin, ...). No for ObjectMeta's, which an API server sets
    /// itself, and Pod.status, which it drops on create.
    public static func isValidated(_ key: String) -> Bool {
        guard case .ignored? = table[key] else { return false }
        return !key.hasPrefix("ObjectMeta.") && !key.hasPrefix("Pod.")
    }

    /// The Kubernetes version whose API-server rules podrec applies: that of the reference
    /// schema.
    public static let kubernetesVersion = "1.32"

    /// The schema types whose every field must appear in `table`.
    public static let fullyClassifiedTypes = ["PodSpec", "Container", "Volume", "ObjectMeta", "Pod"]
}
