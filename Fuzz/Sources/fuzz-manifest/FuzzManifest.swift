import FuzzSupport

/// libFuzzer's entry point: one input file, through manifest loading and validation. See
/// Fuzz/README.md.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    Exercise.manifest(bytes)
    return 0
}
