/// An image's `User` (`config.User`: `NAME`, `UID`, `NAME:GROUP`, `UID:GID`…) resolved
/// against the image's own /etc/passwd and /etc/group, as containerd's `WithUser` does:
/// a number is taken as it is, a name is looked up; with no group given the gid is the
/// user's primary group from passwd (0 for a bare uid not in passwd). Pure: the caller
/// reads the two files from the image's layers.
public struct ImageUser: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// nil for an empty `user` (root, the default). Throws when a name is not in the file.
    public static func resolve(_ user: String, passwd: String?, group: String?) throws(ImageSpecError) -> ImageUser? {
        if user.isEmpty { return nil }
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts[0]
        let groupPart = parts.count == 2 ? parts[1] : nil
        func records(_ text: String?) -> [[Substring]] {
            (text ?? "").split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false) }
        }
        let users = records(passwd)
        var uid: UInt32
        var gid: UInt32 = 0
        if let n = UInt32(userPart) {
            uid = n
            if let r = users.first(where: { $0.count >= 4 && UInt32($0[2]) == n }), let g = UInt32(r[3]) { gid = g }
        } else if userPart.isEmpty {
            uid = 0
        } else {
            guard let r = users.first(where: { $0.count >= 4 && $0[0] == userPart }), let u = UInt32(r[2]), let g = UInt32(r[3]) else {
                throw .badConfig("the image's user \"\(userPart)\" is not in its /etc/passwd")
            }
            uid = u
            gid = g
        }
        if let groupPart, !groupPart.isEmpty {
            if let n = UInt32(groupPart) {
                gid = n
            } else {
                guard let r = records(group).first(where: { $0.count >= 3 && $0[0] == groupPart }), let g = UInt32(r[2]) else {
                    throw .badConfig("the image's group \"\(groupPart)\" is not in its /etc/group")
                }
                gid = g
            }
        }
        return ImageUser(uid: uid, gid: gid)
    }

    /// A stop signal as an image config spells it: `SIGQUIT`, `QUIT` or a number; nil when
    /// it is none of those.
    public static func signalNumber(_ text: String, names: [String: Int32]) -> Int32? {
        if let n = Int32(text), n > 0, n < 65 { return n }
        let upper = text.uppercased()
        return names[upper] ?? names["SIG" + upper]
    }
}
