import CCrypto
import CZlib
import CZstd
import Glibc
import ImageModel
import Kernel

/// A running SHA-256 (libcrypto's, which uses the CPU's SHA instructions) and a byte count.
final class SHA256Hasher {
    private let context: OpaquePointer
    private(set) var count: Int64 = 0

    init() {
        context = EVP_MD_CTX_new()!
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "libcrypto has no sha256")
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1)
        count += Int64(bytes.count)
    }

    /// The digest of everything so far; the hasher is spent.
    func finish() -> Digest {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &out, &length) == 1 && length == 32)
        return Digest(bytes: out)
    }

    /// The SHA-256 of bytes in memory (a manifest as a registry sent it).
    static func digest(of bytes: [UInt8]) -> Digest {
        let hasher = SHA256Hasher()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finish()
    }

    /// The SHA-256 of a whole file, read in 1 MiB chunks.
    static func digest(ofFile path: String) throws(ImageError) -> (digest: Digest, size: Int64) {
        let fd = try sys { () throws(KernelError) in try Sys.open(path, O_RDONLY) }
        defer { Sys.close(fd) }
        let reader = FileReader(fd: fd, name: path, chunk: 1 << 20)
        let hasher = SHA256Hasher()
        try reader.drain { (chunk: UnsafeRawBufferPointer) in hasher.update(chunk) }
        return (hasher.finish(), hasher.count)
    }
}

/// A source of bytes that the tar reader and the store read from: a file, a decompressor
/// over another reader, a hashing tap. `read` returns 0 at the end.
class ByteReader {
    /// What the bytes are, for messages: a file, a blob digest.
    let name: String

    init(name: String) {
        self.name = name
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        fatalError("abstract")
    }

    /// Reads to the end, handing each chunk to `body`.
    func drain(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        let buffer = IOBuffer()
        while true {
            let n = try read(into: buffer.bytes)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<n]))
        }
    }
}

/// An open fd; not closed by the reader.
final class FileReader: ByteReader {
    let fd: Int32
    private let chunk: Int

    init(fd: Int32, name: String, chunk: Int = 1 << 16) {
        self.fd = fd
        self.chunk = chunk
        super.init(name: name)
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        try sys { () throws(KernelError) in
            try Sys.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(chunk, buffer.count)]), describedAs: name)
        }
    }
}

/// Passes bytes through and hashes them: a layer's diff id is the SHA-256 of the
/// uncompressed tar, every byte of it, padding after the end blocks included.
final class HashingReader: ByteReader {
    let inner: ByteReader
    let hasher = SHA256Hasher()

    init(_ inner: ByteReader) {
        self.inner = inner
        super.init(name: inner.name)
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let n = try inner.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        return n
    }
}

/// gzip (concatenated members too, as `gzip` writes with `-r` and pigz may) over zlib.
final class GzipReader: ByteReader {
    let inner: ByteReader
    private var stream = z_stream()
    private let input = IOBuffer()
    private var inputEnded = false
    private var finished = false

    init(_ inner: ByteReader) throws(ImageError) {
        self.inner = inner
        super.init(name: inner.name)
        // 15 + 16: a gzip wrapper, the largest window.
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .decompression(source: inner.name, reason: "zlib would not start")
        }
    }

    deinit {
        inflateEnd(&stream)
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        while !finished {
            if stream.avail_in == 0 && !inputEnded {
                let n = try inner.read(into: input.bytes)
                if n == 0 { inputEnded = true } else {
                    stream.next_in = input.bytes.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_in = UInt32(n)
                }
            }
            stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = UInt32(buffer.count)
            let rc = inflate(&stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(stream.avail_out)
            switch rc {
            case Z_STREAM_END:
                // Another member may follow; anything else after the end is an error.
                if stream.avail_in == 0 && !inputEnded {
                    let n = try inner.read(into: input.bytes)
                    if n == 0 { inputEnded = true } else {
                        stream.next_in = input.bytes.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.avail_in = UInt32(n)
                    }
                }
                if stream.avail_in == 0 && inputEnded { finished = true } else { inflateReset(&stream) }
            case Z_OK, Z_BUF_ERROR:
                if produced == 0 && stream.avail_in == 0 && inputEnded {
                    throw .decompression(source: name, reason: "the gzip stream is truncated")
                }
            default:
                let why = stream.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw .decompression(source: name, reason: "not valid gzip: \(why)")
            }
            if produced > 0 { return produced }
        }
        return 0
    }
}

/// zstd (concatenated frames too) over libzstd's streaming decoder.
final class ZstdReader: ByteReader {
    let inner: ByteReader
    private let stream: OpaquePointer
    private let input = IOBuffer()
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var inputEnded = false
    /// 0 after a frame ended: the input may stop here.
    private var lastHint = 0

    init(_ inner: ByteReader) throws(ImageError) {
        self.inner = inner
        guard let s = ZSTD_createDStream() else { throw .decompression(source: inner.name, reason: "libzstd would not start") }
        stream = s
        super.init(name: inner.name)
        _ = ZSTD_initDStream(stream)
    }

    deinit {
        ZSTD_freeDStream(stream)
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        while true {
            if inBuffer.pos == inBuffer.size && !inputEnded {
                let n = try inner.read(into: input.bytes)
                if n == 0 { inputEnded = true } else { inBuffer = ZSTD_inBuffer(src: input.bytes.baseAddress, size: n, pos: 0) }
            }
            if inBuffer.pos == inBuffer.size && inputEnded {
                if lastHint != 0 { throw .decompression(source: name, reason: "the zstd stream is truncated") }
                return 0
            }
            var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            let rc = ZSTD_decompressStream(stream, &out, &inBuffer)
            if ZSTD_isError(rc) != 0 {
                throw .decompression(source: name, reason: "not valid zstd: \(String(cString: ZSTD_getErrorName(rc)))")
            }
            lastHint = rc
            if out.pos > 0 { return out.pos }
        }
    }
}

extension ByteReader {
    /// `self` decompressed as `compression` says.
    func decompressed(_ compression: LayerCompression) throws(ImageError) -> ByteReader {
        switch compression {
        case .none: return self
        case .gzip: return try GzipReader(self)
        case .zstd: return try ZstdReader(self)
        }
    }
}

extension Digest {
    /// The SHA-256 digest of `bytes`: a manifest's, hashed over its exact bytes.
    public static func sha256(of bytes: [UInt8]) -> Digest { SHA256Hasher.digest(of: bytes) }
}
