/// A reusable 64 KiB buffer for copies, freed with its owner.
final class IOBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(size: Int = 1 << 16) {
        bytes = .allocate(byteCount: size, alignment: 16)
    }

    deinit {
        bytes.deallocate()
    }
}
