import Foundation

/// qemu-img, the independent oracle for every image we write.
public enum QemuImg {
    /// qemu-img's driver name for our format name.
    public static func driver(_ format: String) -> String {
        switch format {
        case "vhd": "vpc"
        default: format
        }
    }

    /// `qemu-img compare -f A -F B a b`: true if guest-visible contents are identical.
    public static func same(_ a: String, format: String, as raw: String) -> (Bool, String) {
        let r = shell("qemu-img compare -f \(driver(format)) -F raw '\(a)' '\(raw)' 2>&1")
        return (r.status == 0, r.output)
    }

    /// `qemu-img check`: status 0 clean, 2 corrupt, 3 leaks; 63 = unsupported for the format.
    public static func check(_ path: String, format: String) -> (status: Int32, output: String) {
        shell("qemu-img check -f \(driver(format)) '\(path)' 2>&1")
    }

    /// `qemu-img info --output=json`.
    public static func info(_ path: String, format: String) -> [String: Any] {
        let r = shell("qemu-img info --output=json -f \(driver(format)) '\(path)' 2>/dev/null")
        return (try? JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]) ?? [:]
    }

    public static func virtualSize(_ path: String, format: String) -> Int64? {
        (info(path, format: format)["virtual-size"] as? NSNumber)?.int64Value
    }

    /// `qemu-img convert` (to make golden images with a tool we did not write).
    @discardableResult
    public static func convert(_ from: String, fromFormat: String = "raw", to: String, format: String, options: String = "") -> (Int32, String) {
        shell("qemu-img convert -f \(driver(fromFormat)) -O \(driver(format)) \(options) '\(from)' '\(to)' 2>&1")
    }
}
