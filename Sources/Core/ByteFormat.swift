import Foundation

/// Sizes for people: "1.5 GiB".
public func formatBytes(_ n: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
}
