public import BlockStore
public import DiskImage
import Foundation
import Libvirt
public import Core

/// What `standby build` did.
public struct StandbyBuildReport: Codable, Sendable {
    public var standby: StandbyRecord
    public var image: RestoreReport
    public var registered: Bool
    public var accelerator: String
}

/// Builds or incrementally updates a machine's standby image and (re)defines its libvirt domain.
///
/// The domain boots from `overlay.qcow2` over the base image, so booting never writes the base
/// and the next build stays incremental. A build refuses while the domain runs (failover in
/// progress), and refuses to reset an overlay a guest has written (the standby served as
/// production: capture it first) unless told to discard it. The image update is journaled: a
/// crash leaves the previous standby bootable.
public struct StandbyBuilder {
    /// How often a nightly build reads the base image back against its point (`HeldPointCheck`);
    /// between checks it trusts its own file, so a nightly build stays O(changed blocks).
    static let imageCheckDays = 7.0

    public struct Options: Sendable {
        public var point = PointSelector.latest
        public var format: String?
        public var connect = Hypervisor.defaultURI
        public var register = true
        /// Reset an overlay that holds a guest's writes.
        public var discardChanges = false
        public init() {}
    }

    let store: Store
    let catalog: StandbyCatalog

    public init(store: Store) throws {
        self.store = store
        catalog = try StandbyCatalog(store: store)
    }

    public func build(machine: String, options: Options, progress: any ProgressReporter = SilentProgress()) throws -> StandbyBuildReport {
        _ = try store.machine(machine)
        let profile = try catalog.profile(machine)
        let point = try options.point.select(from: store.catalog.points(of: machine), machine: machine)
        let format = try FormatRegistry.format(named: options.format ?? profile.format)
        let paths = try StandbyPaths(store: store, machine: machine)
        let domainName = profile.domain ?? machine
        let previous = try catalog.standby(machine)

        var connection: Connection?
        if options.register {
            let conn = try Hypervisor.connect(options.connect)
            connection = conn
            if let domain = try Hypervisor.call("looking up domain \(domainName)", { try conn.domain(named: domainName) }) {
                guard try Hypervisor.call("reading metadata of \(domainName)", { try domain.metadata() }) != nil else {
                    throw UnderstudyError(.conflict, "libvirt domain \(domainName) exists and was not created by Understudy; it is left alone (choose another name with `understudy machine set \(machine) --domain NAME`)")
                }
                if try Hypervisor.call("reading state of \(domainName)", { try domain.isActive() }) {
                    throw UnderstudyError(.conflict, "standby \(domainName) is running (failover in progress?): its image is not touched; stop it first (`virsh destroy \(domainName)`)")
                }
            }
        }
        if let previous, !options.discardChanges, try overlayWasWritten(paths, previous) {
            throw UnderstudyError(.conflict, "the standby of \(machine) was booted and its overlay (\(paths.overlay)) holds the guest's writes; capture them first (`understudy capture \(machine) libvirt:\(domainName)`) or pass --discard-changes")
        }

        var imageOptions = ImageBuilder.Options()
        imageOptions.format = format
        let image = paths.image(format: format.name)
        let imageReport: RestoreReport
        if FileSystem.exists(image) {
            // The base image is Understudy's own file, never booted (the overlay takes the guest's
            // writes): its kept blocks are read back once a week, not every night.
            imageOptions.trustImage = ImageRecord.load(for: image)?.verifiedWithin(days: Self.imageCheckDays) ?? false
            do {
                imageReport = try ImageUpdater.update(store: store, point: point, at: image, options: imageOptions, progress: progress)
            } catch let error as UnderstudyError where error.code == .damagedImage {
                // The base image is Understudy's own file: a damaged one is rebuilt, and said.
                progress.note("\(error.message); rebuilding it")
                var rebuilt = try ImageUpdater.update(store: store, point: point, at: image, options: imageOptions, forceFull: true, progress: progress)
                rebuilt.note = "rebuilt: the previous image was damaged"
                imageReport = rebuilt
            }
        } else {
            imageOptions.force = true
            imageReport = try ImageBuilder.build(store: store, point: point, to: image, options: imageOptions, progress: progress)
        }
        if let previous, previous.image != image { unlink(previous.image); unlink(ImageRecord.path(of: previous.image)) }
        try QCOW2Format.createOverlay(at: paths.overlay, backing: image, backingFormat: Self.qemuDriver(format.name), size: point.diskSize)

        let accel = Hypervisor.accelerator(for: profile, store: store.path).accelerator
        let record = StandbyRecord(machine: machine, domain: domainName, format: format.name, image: image, point: point.id ?? 0,
                                   pointTime: point.time, built: Date(), connect: options.connect,
                                   overlay: try ImageRecord.fingerprint(of: paths.overlay))
        // Record the files first: if defining fails, the record still matches what is on disk.
        try catalog.setStandby(record)
        if let connection {
            _ = try define(record, profile: profile, paths: paths, accelerator: accel, on: connection)
        }
        return StandbyBuildReport(standby: record, image: imageReport, registered: options.register, accelerator: accel.rawValue)
    }

    /// Defines (or redefines) the standby's domain for `record` under `accelerator`. Redefining
    /// keeps the domain's identity: libvirt refuses a new UUID for an existing name.
    func define(_ record: StandbyRecord, profile: HardwareProfile, paths: StandbyPaths, accelerator: Accelerator,
                on connection: Connection) throws -> Domain {
        var spec = DomainSpec(name: record.domain, machine: record.machine, point: record.point, pointTime: record.pointTime,
                              built: record.built, format: record.format, image: record.image, overlay: paths.overlay,
                              serialLog: paths.serialLog, kvm: accelerator == .kvm, profile: profile,
                              nvram: profile.firmware == .uefi ? paths.nvram : nil)
        spec.uuid = try connection.domain(named: record.domain).map { domain in
            try Hypervisor.call("reading the UUID of \(record.domain)", { try domain.uuid() })
        }
        let xml = try DomainXML.render(spec, templates: Templates())
        return try Hypervisor.call("defining domain \(record.domain)", { try connection.defineDomain(xml: xml) })
    }

    /// The machine's standby as it is on disk: an interrupted image update finished or rolled
    /// back, and the record corrected if a build died between committing the image and the record
    /// (the image's own record is the truth).
    func currentStandby(_ machine: String, progress: any ProgressReporter = SilentProgress()) throws -> StandbyRecord {
        guard var record = try catalog.standby(machine) else {
            throw UnderstudyError(.notFound, "machine \(machine) has no standby; build one with `understudy standby build \(machine)`",
                             at: .init(machine: machine))
        }
        if let message = try ImageUpdater.recover(record.image) { progress.note(message) }
        if let image = ImageRecord.load(for: record.image), image.point != record.point {
            record.point = image.point
            record.pointTime = image.pointTime
            try catalog.setStandby(record)
        }
        return record
    }

    /// True if something wrote the overlay since the build that made it.
    func overlayWasWritten(_ paths: StandbyPaths, _ previous: StandbyRecord) throws -> Bool {
        guard FileSystem.exists(paths.overlay), let made = previous.overlay else { return false }
        return try ImageRecord.fingerprint(of: paths.overlay) != made
    }

    /// qemu's driver name for our format name.
    static func qemuDriver(_ format: String) -> String { format == "vhd" ? "vpc" : format }
}
