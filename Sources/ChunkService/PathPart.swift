import BlockStore
import Foundation
import Core

/// A percent-encoded segment of a request path (a machine name, a point), decoded strictly:
/// a broken escape or a control character (`m1%00x`, which SQLite would read as `m1`) is a
/// `400`, never a near match.
enum PathPart {
    static func decode(_ raw: String, what: String) throws -> String {
        guard let text = raw.removingPercentEncoding else {
            throw UnderstudyError(.invalidArgument, "the \(what) '\(raw)' in the path is not valid percent-encoding")
        }
        if let bad = text.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            let code = String(bad.value, radix: 16, uppercase: true)
            throw UnderstudyError(.invalidArgument, "the \(what) '\(raw)' in the path holds the control character U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code); no \(what) has one")
        }
        return text
    }
}
