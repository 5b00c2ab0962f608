import Manifest
import PodModel

/// The profile a container runs under, before compiling: the rules are Kubernetes' (the
/// container's `seccompProfile` over the pod's, `privileged` unconfined) with podrec's
/// default for a container that names none (`--seccomp-default`).
public enum SeccompChoice: Sendable, Hashable, CustomStringConvertible {
    case unconfined
    case runtimeDefault
    /// A path relative to `--seccomp-root`, as `localhostProfile` gives it.
    case localhost(String)

    public var description: String {
        switch self {
        case .unconfined: return "Unconfined"
        case .runtimeDefault: return "RuntimeDefault"
        case .localhost(let path): return "Localhost \(path)"
        }
    }
}

/// What one compile is asked for: a profile and the bounding set the container keeps
/// (RuntimeDefault allows more with some capabilities, as containerd's does).
public struct SeccompRequest: Sendable, Hashable {
    public var choice: SeccompChoice
    public var bounding: CapabilitySet

    public init(choice: SeccompChoice, bounding: CapabilitySet) {
        self.choice = choice
        self.bounding = bounding
    }
}

/// The host's side of seccomp, injected like the image store: the default for containers
/// that name no profile, and the compiler (libseccomp, in the reconciler) that turns a
/// request into a stored BPF program. The builder stays pure.
public struct SeccompLookup: Sendable {
    /// `.runtimeDefault` or `.unconfined`.
    public var defaultChoice: SeccompChoice
    /// The program for a request that is not `.unconfined`; a thrown error's description is
    /// the reason, with the profile's path (`<seccomp root>/x.json: syscalls[0]...`).
    public var compile: @Sendable (SeccompRequest) throws -> SeccompFilterRef

    public init(defaultChoice: SeccompChoice, compile: @escaping @Sendable (SeccompRequest) throws -> SeccompFilterRef) {
        self.defaultChoice = defaultChoice
        self.compile = compile
    }

    struct NotAvailable: Error, CustomStringConvertible {
        var description: String { "seccomp profiles cannot be compiled here" }
    }

    /// No compiler: containers without a profile are unconfined, and a profile other than
    /// `Unconfined` is an error. For pure tests of everything else.
    public static let none = SeccompLookup(defaultChoice: .unconfined) { _ in throw NotAvailable() }
}

enum SeccompBuilder {
    /// The effective profile, and the manifest path an error about it belongs to.
    static func choice(_ c: Manifest.Container, pod: PodSpec, privileged: Bool, default: SeccompChoice,
                       at path: String) -> (choice: SeccompChoice, path: String) {
        // Kubernetes: a privileged container is unconfined whatever its profile says.
        if privileged { return (.unconfined, path + ".securityContext.privileged") }
        let own = c.securityContext?.seccompProfile
        let profile = own ?? pod.securityContext?.seccompProfile
        let where_ = own != nil ? path + ".securityContext.seccompProfile" : "spec.securityContext.seccompProfile"
        switch profile?.type {
        case "Unconfined"?: return (.unconfined, where_)
        case "RuntimeDefault"?: return (.runtimeDefault, where_)
        case "Localhost"?: return (.localhost(profile?.localhostProfile ?? ""), where_ + ".localhostProfile")
        default: return (`default`, path)  // none set (validation refused any other type)
        }
    }

    /// The compiled program of the container, or nil for unconfined.
    static func filter(_ c: Manifest.Container, pod: PodSpec, privileged: Bool, bounding: CapabilitySet,
                       lookup: SeccompLookup, at path: String) throws(BuildError) -> SeccompFilterRef? {
        let (choice, errorPath) = choice(c, pod: pod, privileged: privileged, default: lookup.defaultChoice, at: path)
        if choice == .unconfined { return nil }
        do { return try lookup.compile(SeccompRequest(choice: choice, bounding: bounding)) } catch {
            let which = errorPath == path ? "the default seccomp profile (\(choice), --seccomp-default): " : ""
            throw BuildError(path: errorPath, message: which + "\(error)")
        }
    }
}
