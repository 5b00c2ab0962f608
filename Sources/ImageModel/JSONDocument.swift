import YAML

/// A JSON object read from an image document, with typed getters whose errors name the
/// document and the key. JSON is YAML, so the project's YAML parser reads it (as
/// `ImageConfig` does); duplicate keys are refused there.
public struct JSONObject: Sendable {
    public let members: [JSONMember]
    /// The document, for messages: a digest or a file.
    public let what: String

    public init(members: [JSONMember], what: String) {
        self.members = members
        self.what = what
    }

    /// Parses `bytes` as one JSON object.
    public init(parsing bytes: [UInt8], what: String) throws(ImageSpecError) {
        let docs: [Document]
        do { docs = try YAMLParser.parse(bytes, file: what) } catch {
            throw .badDocument(what, reason: "not JSON: \(error)")
        }
        guard docs.count == 1, let root = docs[0].root.json(.core12), case .object(let members) = root else {
            throw .badDocument(what, reason: "not a JSON object")
        }
        self.init(members: members, what: what)
    }

    public func bad(_ reason: String) -> ImageSpecError { .badDocument(what, reason: reason) }

    public subscript(_ key: String) -> JSONValue? {
        guard let v = members.first(where: { $0.key == key })?.value else { return nil }
        if case .null = v { return nil }
        return v
    }

    public func string(_ key: String) throws(ImageSpecError) -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw bad("\"\(key)\" is not a string") }
        return s
    }

    public func requiredString(_ key: String) throws(ImageSpecError) -> String {
        guard let s = try string(key) else { throw bad("\"\(key)\" is missing") }
        return s
    }

    public func int(_ key: String) throws(ImageSpecError) -> Int64? {
        guard let v = self[key] else { return nil }
        guard case .int(let n) = v else { throw bad("\"\(key)\" is not an integer") }
        return n
    }

    public func strings(_ key: String) throws(ImageSpecError) -> [String]? {
        guard let v = self[key] else { return nil }
        guard case .array(let items) = v else { throw bad("\"\(key)\" is not a list") }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw bad("\"\(key)\" holds a non-string") }
            out.append(s)
        }
        return out
    }

    public func object(_ key: String) throws(ImageSpecError) -> JSONObject? {
        guard let v = self[key] else { return nil }
        guard case .object(let m) = v else { throw bad("\"\(key)\" is not an object") }
        return JSONObject(members: m, what: what)
    }

    public func objects(_ key: String) throws(ImageSpecError) -> [JSONObject]? {
        guard let v = self[key] else { return nil }
        guard case .array(let items) = v else { throw bad("\"\(key)\" is not a list") }
        var out: [JSONObject] = []
        for item in items {
            guard case .object(let m) = item else { throw bad("\"\(key)\" holds a non-object") }
            out.append(JSONObject(members: m, what: what))
        }
        return out
    }

    /// String values of an object member (annotations, labels); non-strings are refused.
    public func stringMap(_ key: String) throws(ImageSpecError) -> [String: String] {
        guard let o = try object(key) else { return [:] }
        var out: [String: String] = [:]
        for m in o.members {
            guard case .string(let s) = m.value else { throw bad("\"\(key).\(m.key)\" is not a string") }
            out[m.key] = s
        }
        return out
    }
}

/// Parses a JSON array document (docker-archive's manifest.json).
public func parseJSONArray(_ bytes: [UInt8], what: String) throws(ImageSpecError) -> [JSONObject] {
    let docs: [Document]
    do { docs = try YAMLParser.parse(bytes, file: what) } catch {
        throw .badDocument(what, reason: "not JSON: \(error)")
    }
    guard docs.count == 1, let root = docs[0].root.json(.core12), case .array(let items) = root else {
        throw .badDocument(what, reason: "not a JSON array")
    }
    var out: [JSONObject] = []
    for item in items {
        guard case .object(let m) = item else { throw .badDocument(what, reason: "an element is not an object") }
        out.append(JSONObject(members: m, what: what))
    }
    return out
}
