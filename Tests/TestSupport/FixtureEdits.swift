import Foundation

extension Fixtures {
    /// Runs shell `commands` on the fixture's data partition (partition 2) extracted to `$P2`,
    /// then writes it back in place: a change of a few blocks, as a server's own writes would be.
    public static func editDataPartition(of image: String, _ commands: String) throws {
        let dir = TempDir("p2")
        let script = """
            set -e
            start=$(sfdisk -d '\(image)' | awk -F'[=,]' '/start=/{n++; if (n==2) print $2+0}')
            size=$(sfdisk -d '\(image)' | awk -F'[=,]' '/start=/{n++; if (n==2) print $4+0}')
            P2='\(dir.file("p2"))'; W='\(dir.path)'
            dd if='\(image)' of="$P2" bs=512 skip=$start count=$size status=none
            \(commands)
            dd if="$P2" of='\(image)' bs=512 seek=$start conv=notrunc status=none
            """
        let r = shell(script)
        guard r.status == 0 else { throw CLIError(message: "editing the data partition failed: \(r.output)") }
    }

    /// Replaces the fixture's marker in place.
    public static func changeMarker(of image: String, to marker: String) throws {
        try editDataPartition(of: image, """
            printf '%s' '\(marker)' > "$W/m"
            debugfs -w -R 'rm marker.txt' "$P2" >/dev/null 2>&1
            debugfs -w -R "write $W/m marker.txt" "$P2" >/dev/null
            """)
    }
}
