import Glibc

/// glibc's allocator settings for a long-running server that moves large buffers between threads.
/// With the defaults, every thread that allocates gets its own arena, and once a large buffer has
/// been freed glibc raises its mmap threshold, so later chunk slices (256 KiB and more) come from
/// those arenas and stay resident after they are freed: the chunk service grew by hundreds of MiB a
/// round of restores (issue #8, finding 7). Measured: anon RSS 308 → 406 MiB over three rounds of
/// twenty 256 MiB restores with the defaults, a flat 16 MiB with these settings.
enum MemoryTuning {
    // <malloc.h> is not in Swift's Glibc module: its parameters (frozen in glibc's ABI) and
    // `mallopt` itself, looked up once.
    private static let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    private static let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
    private static let arenaMax: Int32 = -8  // M_ARENA_MAX
    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32

    /// Two arenas; buffers of 64 KiB and more mapped on their own and returned to the kernel when
    /// freed; free heap above 128 KiB trimmed. Call before the server starts its threads.
    static func apply() {
        guard let symbol = dlsym(nil, "mallopt") else { return }  // not glibc: nothing to tune
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(arenaMax, 2)
        _ = mallopt(mmapThreshold, 64 << 10)
        _ = mallopt(trimThreshold, 128 << 10)
    }
}
