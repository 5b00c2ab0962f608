import FuzzSupport

/// libFuzzer's entry point: one input, the YAML layer. See Fuzz/README.md.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    Exercise.yaml(bytes)
    return 0
}
