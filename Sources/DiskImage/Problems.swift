/// Problems a check collects. Capped, so a table of garbage yields a readable report and its
/// memory stays bounded however many entries are wrong.
struct Problems {
    static let limit = 40
    private(set) var list: [String] = []
    private var dropped = 0

    mutating func add(_ message: String) {
        if list.count < Self.limit { list.append(message) } else { dropped += 1 }
    }

    var isEmpty: Bool { list.isEmpty }
    var all: [String] { dropped == 0 ? list : list + ["... and \(dropped) more problems"] }
}
