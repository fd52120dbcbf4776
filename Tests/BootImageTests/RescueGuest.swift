import Foundation
import Testing
import TestSupport

/// A stand-in for `understudy-rescue` inside the boot image, a real (dynamically linked) C program:
/// it prints its arguments, whether stdin is a terminal, whether the target is a block device, and
/// the answer of the server URL it was given, then exits with N when `--machine exitN`, else 0. The real client's end-to-end restore is
/// tested with the chunk server.
enum FakeRescue {
    static let source = #"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #include <netdb.h>
        #include <sys/socket.h>
        #include <sys/stat.h>
        int main(int argc, char **argv) {
          const char *server = NULL, *machine = "", *target = NULL;
          printf("FAKE-RESCUE argc=%d stdin-tty=%d\n", argc, isatty(0));
          for (int i = 1; i < argc; i++) {
            printf("FAKE-RESCUE argv[%d]=%s\n", i, argv[i]);
            if (i + 1 < argc && !strcmp(argv[i], "--server")) server = argv[i + 1];
            if (i + 1 < argc && !strcmp(argv[i], "--machine")) machine = argv[i + 1];
            if (i + 1 < argc && !strcmp(argv[i], "--target")) target = argv[i + 1];
          }
          if (getenv("UNDERSTUDY_TOKEN")) printf("FAKE-RESCUE env UNDERSTUDY_TOKEN=%s\n", getenv("UNDERSTUDY_TOKEN"));
          struct stat st;
          if (target) printf("FAKE-RESCUE target %s block-device=%d\n", target, stat(target, &st) == 0 && S_ISBLK(st.st_mode));
          if (server && !strncmp(server, "http://", 7)) {
            char host[256] = {0}, port[16] = "80", buf[256] = {0};
            const char *h = server + 7, *end = h + strcspn(h, ":/");
            snprintf(host, sizeof host, "%.*s", (int)(end - h), h);
            if (*end == ':') snprintf(port, sizeof port, "%.*s", (int)strcspn(end + 1, "/"), end + 1);
            struct addrinfo hints = {0}, *ai;
            hints.ai_socktype = SOCK_STREAM;
            int fd = -1;
            if (getaddrinfo(host, port, &hints, &ai) == 0) {
              fd = socket(ai->ai_family, SOCK_STREAM, 0);
              if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) { close(fd); fd = -1; }
            }
            ssize_t n = -1;
            if (fd >= 0) { dprintf(fd, "GET / HTTP/1.0\r\n\r\n"); n = read(fd, buf, sizeof buf - 1); }
            if (n > 0) buf[strcspn(buf, "\r\n")] = 0;
            printf("FAKE-RESCUE server %s:%s answered: %s\n", host, port, n > 0 ? buf : "(nothing)");
          }
          fflush(stdout);
          return strncmp(machine, "exit", 4) ? 0 : atoi(machine + 4);
        }
        """#

    /// Compiles the program into `dir` and returns its path.
    static func build(in dir: TempDir) throws -> String {
        let c = dir.file("fake-rescue.c"), exe = dir.file("fake-rescue")
        try source.write(toFile: c, atomically: true, encoding: .utf8)
        let r = shell("cc -O2 -o '\(exe)' '\(c)'")
        guard r.status == 0 else { throw CLIError(message: "cc failed: \(r.output)") }
        return exe
    }

    /// The arguments the guest passed, from the serial log.
    static func arguments(in log: String) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("FAKE-RESCUE argv["), let eq = line.firstIndex(of: "=") else { return nil }
            return String(line[line.index(after: eq)...])
        }
    }
}

/// What the guest's qemu user network offers: DHCP, and at 10.0.2.100:8080 an "HTTP server" that
/// is a command qemu runs per connection (no socket on the host at all).
enum GuestNetwork {
    static let server = "http://10.0.2.100:8080"
    static let answer = "HTTP/1.0 200 understudy-ok"

    static func nic(model: String = "virtio-net-pci", extra: String = "") -> [String] {
        ["-nic", "user,model=\(model)\(extra),guestfwd=tcp:10.0.2.100:8080-cmd:echo \(answer)"]
    }
}

/// Blank target disks for the guest (sparse files, written only through qemu's snapshot layer).
enum TargetDisk {
    static func file(in dir: TempDir) -> String {
        let path = dir.file("target.img")
        if !FileManager.default.fileExists(atPath: path) { _ = shell("truncate -s 256M '\(path)'") }
        return path
    }

    /// /dev/vda in the guest.
    static func virtio(in dir: TempDir) -> [String] {
        ["-drive", "file=\(file(in: dir)),format=raw,if=virtio,snapshot=on"]
    }

    /// /dev/sda in the guest when no other SATA/SCSI disk is there.
    static func sata(in dir: TempDir) -> [String] {
        ["-drive", "file=\(file(in: dir)),format=raw,if=none,id=t0,snapshot=on", "-device", "ahci,id=ahci0", "-device", "ide-hd,drive=t0,bus=ahci0.0"]
    }
}

/// Boots with Tests/Fixtures/boot-rescue.sh; returns the result line and the serial log.
enum RescueBoot {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/boot-rescue.sh").path

    static var available: Bool {
        shell("command -v qemu-system-x86_64 && command -v xorriso && command -v cc && ls /boot/vmlinuz-*").status == 0
    }

    struct Boot {
        var result: String
        var log: String
        var seconds: Double
    }

    /// `typeEnter`: types `keys` and Enter on the serial console every 2 s; `until`: a regex of the
    /// serial log at which the guest is stopped (default: wait until it powers off).
    static func boot(_ qemuArgs: [String], in dir: TempDir, firmware: String = "bios", typeEnter: Bool = false,
                     keys: String = "", until: String = "") throws -> Boot {
        let log = dir.file("serial-\(UUID().uuidString.prefix(6)).log")
        let quoted = qemuArgs.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let start = Date()
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let r = shell("RESCUE_FIRMWARE=\(firmware) RESCUE_TYPE=\(typeEnter ? 1 : 0) RESCUE_KEYS=\(q(keys)) RESCUE_UNTIL=\(q(until)) "
            + "'\(script)' '\(log)' \(quoted) 2>'\(log).err'")
        let text = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: log))) ?? Data(), as: UTF8.self)
            .replacingOccurrences(of: "\r", with: "")
        let errors = (try? String(contentsOfFile: log + ".err", encoding: .utf8)) ?? ""
        guard r.status == 0 else { throw CLIError(message: "boot failed: \(r.output)\(errors)") }
        return Boot(result: r.output.trimmingCharacters(in: .whitespacesAndNewlines), log: text, seconds: Date().timeIntervalSince(start))
    }
}
