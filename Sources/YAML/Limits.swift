/// Bounds on what the parser will build. Each exceeded bound is an error with a mark,
/// never a crash or an unbounded allocation.
public struct Limits: Sendable, Hashable {
    /// Bytes of input. The Kubernetes API server refuses request bodies over 3 MiB; a
    /// manifest file several times that size is a mistake, not a pod.
    public var maxInputBytes: Int
    /// Nodes after alias expansion: this is what makes "billion laughs" inputs safe.
    public var maxNodes: Int
    /// Nesting levels. The deepest real Pod field (node affinity match expressions) is
    /// about ten levels down.
    public var maxDepth: Int

    public init(maxInputBytes: Int = 16 << 20, maxNodes: Int = 2_000_000, maxDepth: Int = 128) {
        self.maxInputBytes = maxInputBytes
        self.maxNodes = maxNodes
        self.maxDepth = maxDepth
    }

    public static let `default` = Limits()
}
