import Foundation
import Synchronization

/// A counter shared by worker threads.
public final class AtomicCounter: Sendable {
    private let total = Atomic<Int64>(0)
    public init() {}
    /// Adds `n` and returns the new total.
    @discardableResult
    public func add(_ n: Int) -> Int64 { total.add(Int64(n), ordering: .relaxed).newValue }
    public var value: Int64 { total.load(ordering: .relaxed) }
}

/// A value shared between threads behind a lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ new: Value) { lock.withLock { value = new } }
}
