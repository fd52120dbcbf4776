import Foundation
import Synchronization
import Core

/// Packs as files under `STORE/packs/`: `N.pack.tmp` while written, renamed to `N.pack` once
/// fdatasync'ed; dead records punched out with `fallocate` (`PackSweep`).
public final class LocalPackStorage: PackStorage {
    let layout: StoreLayout
    /// Open pack files, kept until gc removes or rewrites the pack, each with when it was last
    /// seen linked.
    private let open = Mutex<[Int64: (file: FileDescriptor, seen: ContinuousClock.Instant)]>([:])

    static let maxOpenPacks = 256
    /// How often a cached pack is checked for having been unlinked (one `fstat`, not one per read).
    static let unlinkCheckInterval = Duration.seconds(1)

    init(layout: StoreLayout) {
        self.layout = layout
    }

    public func packs() throws -> Set<Int64> { PackFiles.numbers(in: layout.packs) }

    public func create(_ number: Int64) throws -> any PackOutput {
        // O_EXCL: a pack file is never written over, whatever the catalog says.
        let path = layout.unfinishedPack(number)
        if FileSystem.exists(layout.pack(number)) {
            throw UnderstudyError(.alreadyExists, "pack \(number) exists already: \(layout.pack(number))", at: .init(path: layout.pack(number)))
        }
        return Output(number: number, file: try FileDescriptor(path: path, flags: O_WRONLY | O_CREAT | O_EXCL), layout: layout)
    }

    public func read(_ number: Int64, at offset: Int64, count: Int, into buffer: UnsafeMutableRawPointer) throws -> Int {
        try file(number).read(into: buffer, count: count, at: offset)
    }

    public func syncPublished() throws {
        try FileSystem.syncDirectory(layout.packs)
    }

    public func punch(_ number: Int64, keeping live: [PackExtent], dryRun: Bool) throws -> PackSpace {
        let sweep = try PackSweep(path: layout.pack(number), punching: !dryRun)
        var punched: Int64 = 0
        for gap in sweep.gaps(between: live) {
            let bytes = try sweep.freeable(gap)
            guard bytes > 0 else { continue }
            punched += bytes
            if !dryRun { try sweep.punch(gap) }
        }
        return PackSpace(punched: punched, allocated: try sweep.allocated(), minimum: sweep.touched(by: live), unit: sweep.blockSize)
    }

    public func delete(_ numbers: [Int64]) throws {
        guard !numbers.isEmpty else { return }
        for number in numbers {
            unlink(layout.pack(number))
            unlink(layout.unfinishedPack(number))
        }
        // Closed at once, so their space goes back now, not when a reader would next look.
        open.withLock { table in for number in numbers { table[number] = nil } }
        try syncPublished()
    }

    public func name(of number: Int64) -> String { layout.pack(number) }

    private static func isUnlinked(_ file: FileDescriptor) -> Bool {
        var st = stat()
        return fstat(file.fd, &st) == 0 && st.st_nlink == 0
    }

    /// A finished pack's file, opened once and kept.
    private func file(_ number: Int64) throws -> FileDescriptor {
        let now = ContinuousClock.now
        if let cached = open.withLock({ $0[number] }) {
            if now - cached.seen < Self.unlinkCheckInterval { return cached.file }
            // A pack gc rewrote is unlinked; holding it open would keep its space from the file
            // system for as long as a long-running reader (the chunk service) lives.
            if !Self.isUnlinked(cached.file) {
                open.withLock { if $0[number]?.file === cached.file { $0[number]?.seen = now } }
                return cached.file
            }
            open.withLock { if $0[number]?.file === cached.file { $0[number] = nil } }
        }
        let file = try FileDescriptor(path: layout.pack(number), flags: O_RDONLY)
        return open.withLock { table in
            if let existing = table[number] { return existing.file }
            // Bounded: a store of thousands of packs must not exhaust file descriptors.
            if table.count >= Self.maxOpenPacks { table.removeAll(keepingCapacity: true) }
            table[number] = (file, now)
            return file
        }
    }

    private final class Output: PackOutput {
        let number: Int64
        let file: FileDescriptor
        let layout: StoreLayout

        init(number: Int64, file: FileDescriptor, layout: StoreLayout) {
            self.number = number
            self.file = file
            self.layout = layout
        }

        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
            try file.write(bytes, at: offset)
        }

        func publish() throws {
            if fdatasync(file.fd) != 0 { throw UnderstudyError.errno("fdatasync", path: file.path) }
            try FileSystem.rename(layout.unfinishedPack(number), to: layout.pack(number))
        }
    }
}
