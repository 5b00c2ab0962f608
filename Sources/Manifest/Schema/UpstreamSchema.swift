/// The structure of Kubernetes v1 Pod, ConfigMap and Secret, compiled from the upstream
/// strict JSON Schemas (v1.32.2) by `Tools/schemagen.py swift`.
///
/// podrec checks every document against it before decoding, so whatever fails the
/// upstream schema fails here too (unknown fields, wrong types, missing required fields),
/// also inside fields podrec only ignores. The one exception is `podrecExtensions`: newer
/// fields that podrec honours, listed in README.
public struct UpstreamSchema: Sendable {
    public enum Kind: Sendable, Hashable {
        case object(fields: [Field])
        case map(values: Int)
        case array(items: Int)
        case anyObject
        case string, dateTime, base64
        case int32, int64, boolean, number
        case intOrString, quantity
        case enumeration([String])
    }

    public struct Field: Sendable, Hashable {
        public var name: String
        public var type: Int
        public var required: Bool
        /// This field's entry in `FieldClasses.table`, looked up once here.
        public var fieldClass: FieldClass?
    }

    public struct TypeDef: Sendable, Hashable {
        public var id: Int
        public var name: String?
        public var kind: Kind
        public var nullable: Bool
        /// Field name → index in `fields`, for objects.
        public var fieldIndex: [String: Int] = [:]
        public var hasRequiredFields = false

        public func field(_ name: String) -> Field? {
            guard case .object(let fields) = kind, let i = fieldIndex[name] else { return nil }
            return fields[i]
        }

        public var fields: [Field] {
            if case .object(let fields) = kind { return fields }
            return []
        }
    }

    public let types: [TypeDef]
    public let rootByKind: [String: Int]
    public let idByName: [String: Int]

    public static let shared = UpstreamSchema()

    /// Fields newer than v1.32 that podrec honours: (type name, field name, field type name).
    public static let podrecExtensions: [(type: String, field: String, kind: Kind)] = [
        ("Lifecycle", "stopSignal", .string)  // Kubernetes 1.33, KEP-4960
    ]

    init() {
        var types: [TypeDef] = []
        // Read as bytes: this runs at every podrec start, and Substring splitting took
        // most of a millisecond of it.
        let source = Array(Self.source.utf8)
        func text(_ w: ArraySlice<UInt8>) -> String { String(decoding: w, as: UTF8.self) }
        func number(_ w: ArraySlice<UInt8>) -> Int { w.reduce(0) { $0 * 10 + Int($1 &- UInt8(ascii: "0")) } }
        for line in source.split(separator: UInt8(ascii: "\n")) {
            let words = line.split(separator: UInt8(ascii: " "))
            let id = number(words[0])
            var kindWord = words[1]
            let nullable = kindWord.last == UInt8(ascii: "?")
            if nullable { kindWord = kindWord.dropLast() }
            let name = words[2].elementsEqual("-".utf8) ? nil : text(words[2])
            let body = words.dropFirst(3)
            let kind: Kind
            switch text(kindWord) {
            case "object":
                kind = .object(fields: body.map { word in
                    let colon = word.firstIndex(of: UInt8(ascii: ":"))!
                    var fieldName = word[..<colon]
                    let required = fieldName.last == UInt8(ascii: "!")
                    if required { fieldName = fieldName.dropLast() }
                    return Field(name: text(fieldName), type: number(word[(colon + 1)...]), required: required, fieldClass: nil)
                })
            case "map": kind = .map(values: number(body.first!))
            case "array": kind = .array(items: number(body.first!))
            case "anyObject": kind = .anyObject
            case "string": kind = .string
            case "dateTime": kind = .dateTime
            case "base64": kind = .base64
            case "int32": kind = .int32
            case "int64": kind = .int64
            case "boolean": kind = .boolean
            case "number": kind = .number
            case "intOrString": kind = .intOrString
            case "quantity": kind = .quantity
            case "enum": kind = .enumeration(body.map(text))
            default: fatalError("UpstreamSchema: unknown kind \(text(kindWord)) on line \(id)")
            }
            precondition(id == types.count, "UpstreamSchema: ids must be dense")
            types.append(TypeDef(id: id, name: name, kind: kind, nullable: nullable))
        }
        // Graft the newer fields podrec honours onto their upstream types.
        for ext in Self.podrecExtensions {
            let extID = types.count
            types.append(TypeDef(id: extID, name: nil, kind: ext.kind, nullable: true))
            guard let owner = types.firstIndex(where: { $0.name == ext.type }), case .object(var fields) = types[owner].kind else {
                fatalError("UpstreamSchema: no type \(ext.type) for extension \(ext.field)")
            }
            fields.append(Field(name: ext.field, type: extID, required: false, fieldClass: nil))
            types[owner].kind = .object(fields: fields)
        }
        for i in types.indices {
            guard case .object(var fields) = types[i].kind else { continue }
            for f in fields.indices {
                fields[f].fieldClass = FieldClasses.classOf(type: types[i].name, field: fields[f].name)
                types[i].fieldIndex[fields[f].name] = f
            }
            types[i].hasRequiredFields = fields.contains(where: \.required)
            types[i].kind = .object(fields: fields)
        }
        self.types = types
        self.rootByKind = Self.roots
        var idByName: [String: Int] = [:]
        for t in types { if let n = t.name { idByName[n] = t.id } }
        self.idByName = idByName
    }

    public subscript(id: Int) -> TypeDef { types[id] }

    public subscript(name: String) -> TypeDef? { idByName[name].map { types[$0] } }
}
