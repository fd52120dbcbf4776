import Foundation
import Core

/// Every path under `STORE/`: each module asks this type, none builds a path of its own (the
/// list with what each holds is the module doc of `Store`). And what is refused when the files
/// that make a store are missing.
///
/// A store is `store.json` (its format), `catalog.sqlite` (what every point is) and `packs/` (the
/// data). Packs without a catalog are data whose meaning is lost, not an empty store: opening them
/// as empty would list nothing, verify nothing, let gc delete every pack and let the next capture
/// reuse their numbers. So a partial store is refused, with what is missing and how to recover.
public struct StoreLayout: Sendable {
    public let root: String
    public init(root: String) { self.root = root }

    /// The store's format version (`Store.formatVersion`), written last at creation.
    public var marker: String { root + "/store.json" }
    /// The SQLite catalog every module keeps its tables in (`ModuleTables`).
    public var catalog: String { root + "/catalog.sqlite" }
    public var packs: String { root + "/packs" }
    public func pack(_ number: Int64) -> String { packs + "/\(number).pack" }
    /// A pack still being written.
    public func unfinishedPack(_ number: Int64) -> String { packs + "/\(number).pack.tmp" }

    public var locks: String { root + "/locks" }
    /// One writer (capture, forget) per machine.
    public func machineLock(_ machine: String) -> String { locks + "/machine-\(machine).lock" }
    /// Writers hold it shared; gc's sweep holds it exclusively.
    public var gcLock: String { locks + "/gc.lock" }
    /// One scheduler (`serve`) per store.
    public var schedulerLock: String { locks + "/scheduler.lock" }

    /// Work files of a running operation (a libvirt domain's disk copied for capture).
    public var tmp: String { root + "/tmp" }
    /// Standbys: one folder per machine.
    public var standby: String { root + "/standby" }
    public func standby(machine: String) -> String { standby + "/" + machine }
    /// The screenshots of a machine's boot tests.
    public func screenshots(machine: String) -> String { standby(machine: machine) + "/screenshots" }

    /// Pack files (`N.pack`, `N.pack.tmp`) under `packs/`, and their total size.
    func packFiles() -> (count: Int, bytes: Int64) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: packs)) ?? []
        var count = 0
        var bytes: Int64 = 0
        for name in names where PackFiles.number(of: name) != nil {
            count += 1
            var st = stat()
            if stat(packs + "/" + name, &st) == 0 { bytes += Int64(st.st_size) }
        }
        return (count, bytes)
    }

    /// Without `store.json`: refuses a folder that already holds a catalog or packs.
    func refuseIfPartial(create: Bool) throws {
        let (count, bytes) = packFiles()
        let hasCatalog = FileSystem.exists(catalog)
        guard hasCatalog || count > 0 else { return }
        let holds = [hasCatalog ? "a catalog" : nil, count > 0 ? "\(count) pack files (\(formatBytes(bytes)))" : nil]
            .compactMap { $0 }.joined(separator: " and ")
        throw UnderstudyError(.corruptCatalog, """
            \(root) holds \(holds) but no store.json: it is an Understudy store that lost its format marker, \
            so nothing was \(create ? "created or " : "")changed. If it is one, put the marker back: \
            echo '{"format": \(Store.formatVersion)}' > \(marker)
            """, at: .init(path: marker))
    }

    /// With `store.json`: refuses a store whose catalog is missing.
    func refuseWithoutCatalog() throws {
        guard !FileSystem.exists(catalog) else { return }
        let (count, bytes) = packFiles()
        let recovery = count > 0
            ? "Put back catalog.sqlite (with its -wal file, if any) from a backup of this store, or rebuild the catalog from the pack record headers (the catalog rebuild planned in issue #15); until then do not capture into or collect this store."
            : "If the store never held a point, remove \(root) and run `understudy init`; otherwise put back catalog.sqlite from a backup."
        throw UnderstudyError(.corruptCatalog, """
            store \(root) has no catalog (\(catalog) is missing)\(count > 0 ? " but holds \(count) pack files (\(formatBytes(bytes)))" : ""): \
            its machines and points are unknown, so it is not opened and nothing was changed. \(recovery)
            """, at: .init(path: catalog))
    }
}

/// Names of pack files.
enum PackFiles {
    /// The pack number of `N.pack` or `N.pack.tmp`; nil for anything else.
    static func number(of name: String) -> Int64? {
        let base = name.hasSuffix(".pack.tmp") ? name.dropLast(9) : name.hasSuffix(".pack") ? name.dropLast(5) : nil
        guard let base, !base.isEmpty, base.allSatisfy(\.isNumber) else { return nil }
        return Int64(base)
    }

    /// Every pack number with a file (finished or not) under `folder`.
    static func numbers(in folder: String) -> Set<Int64> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return Set(names.compactMap(number(of:)))
    }
}
