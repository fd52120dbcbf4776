/// The disk size QEMU gives a VHD (block/vpc.c, `vpc_open`): Virtual PC sized disks by their CHS
/// geometry, Hyper-V and most later writers by the footer's current size, and QEMU decides by the
/// creator application. What a guest booted by QEMU sees is what an update must agree with: a
/// mutant whose creator field changed from "win " made QEMU read a 57,968,640-byte disk where
/// the image held 6 MiB, and the update had checked only the current size (fuzz seed 20261130,
/// VHD fixed mutant 4581).
extension VHDFooter {
    /// Creators whose current size QEMU believes (its table; "tap\0" is XenServer's).
    static let currentSizeCreators: [[UInt8]] = ["win ", "qem2", "d2v ", "CTXS"].map { Array($0.utf8) } + [Array("tap".utf8) + [0]]
    /// 65535 cylinders, 16 heads, 255 sectors: the largest geometry, which QEMU never trusts.
    static let maximumGeometrySectors: Int64 = 65_535 * 16 * 255

    /// The virtual size QEMU reads, or nil if the current size does not fit an `Int64`.
    var sizeAsQEMUReadsIt: Int64? {
        let byCHS = geometry.sectors
        if Self.currentSizeCreators.contains(creatorApp) || byCHS == Self.maximumGeometrySectors {
            return Int64(exactly: currentSize)
        }
        return byCHS * 512
    }
}
