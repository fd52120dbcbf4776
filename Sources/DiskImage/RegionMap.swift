/// The byte ranges an image's structures occupy, to find any two that overlap. A damaged table
/// may name a block in every entry, so blocks are kept as numbers and only the few overlaps
/// reported become text: memory and time stay a few bytes and a sort per entry.
struct RegionMap {
    private var regions: [(start: Int64, end: Int64, id: Int)] = []
    private var names: [String] = []
    /// How a block number reads in a report ("block 7", "payload block 7").
    let blockName: (Int) -> String

    init(blockName: @escaping (Int) -> String) { self.blockName = blockName }

    /// A metadata structure, named now.
    mutating func add(_ start: Int64, _ end: Int64, _ name: String) {
        names.append(name)
        regions.append((start, end, -names.count))
    }

    mutating func add(_ start: Int64, _ end: Int64, block: Int) { regions.append((start, end, block)) }

    private func name(_ id: Int) -> String { id < 0 ? names[-id - 1] : blockName(id) }

    /// "X at S overlaps Y (A..<B)" for neighbours that overlap once sorted, at most `limit`.
    func overlaps(limit: Int) -> [String] {
        var out: [String] = []
        let sorted = regions.sorted { $0.start < $1.start }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.start < a.end {
            out.append("\(name(b.id)) at \(b.start) overlaps \(name(a.id)) (\(a.start)..<\(a.end))")
            if out.count >= limit { break }
        }
        return out
    }
}
