internal import CLibvirt

/// The kind or outcome of a domain job (`virDomainJobType`).
public struct JobType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let none = JobType(rawValue: Int32(VIR_DOMAIN_JOB_NONE.rawValue))
    public static let bounded = JobType(rawValue: Int32(VIR_DOMAIN_JOB_BOUNDED.rawValue))
    public static let unbounded = JobType(rawValue: Int32(VIR_DOMAIN_JOB_UNBOUNDED.rawValue))
    public static let completed = JobType(rawValue: Int32(VIR_DOMAIN_JOB_COMPLETED.rawValue))
    public static let failed = JobType(rawValue: Int32(VIR_DOMAIN_JOB_FAILED.rawValue))
    public static let cancelled = JobType(rawValue: Int32(VIR_DOMAIN_JOB_CANCELLED.rawValue))

    public var description: String {
        switch self {
        case .none: "none"
        case .bounded: "bounded"
        case .unbounded: "unbounded"
        case .completed: "completed"
        case .failed: "failed"
        case .cancelled: "cancelled"
        default: "job type \(rawValue)"
        }
    }
}

/// What started a job (`virDomainJobOperation`).
public struct JobOperation: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unknown = JobOperation(rawValue: Int32(VIR_DOMAIN_JOB_OPERATION_UNKNOWN.rawValue))
    public static let backup = JobOperation(rawValue: Int32(VIR_DOMAIN_JOB_OPERATION_BACKUP.rawValue))
    public static let snapshot = JobOperation(rawValue: Int32(VIR_DOMAIN_JOB_OPERATION_SNAPSHOT.rawValue))
    public static let dump = JobOperation(rawValue: Int32(VIR_DOMAIN_JOB_OPERATION_DUMP.rawValue))
}

/// Statistics of a domain job, running or just finished.
public struct JobStats: Hashable, Sendable {
    public var type: JobType
    public var operation: JobOperation?
    /// Milliseconds since the job began.
    public var elapsedMilliseconds: UInt64?
    public var dataTotal: UInt64?
    public var dataProcessed: UInt64?
    public var dataRemaining: UInt64?
    /// Why a failed job failed, when libvirt says.
    public var errorMessage: String?
}

extension Domain {
    /// Statistics of the running job (`type` is `.none` if there is none), or, with
    /// `completed`, of the job that finished last (kept until the next job starts).
    /// The corresponding C function is `virDomainGetJobStats`.
    public func jobStats(completed: Bool = false) throws(LibvirtError) -> JobStats {
        var type: Int32 = 0
        var params: virTypedParameterPtr?
        var count: Int32 = 0
        let flags = completed
            ? VIR_DOMAIN_JOB_STATS_COMPLETED.rawValue | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED.rawValue : 0
        try check(virDomainGetJobStats(pointer, &type, &params, &count, flags), "virDomainGetJobStats", site)
        defer { virTypedParamsFree(params, count) }

        func unsigned(_ field: String) -> UInt64? {
            var value: UInt64 = 0
            return virTypedParamsGetULLong(params, count, field, &value) == 1 ? value : nil
        }
        var stats = JobStats(type: JobType(rawValue: type))
        var operation: Int32 = 0
        if virTypedParamsGetInt(params, count, VIR_DOMAIN_JOB_OPERATION, &operation) == 1 {
            stats.operation = JobOperation(rawValue: operation)
        }
        stats.elapsedMilliseconds = unsigned(VIR_DOMAIN_JOB_TIME_ELAPSED)
        stats.dataTotal = unsigned(VIR_DOMAIN_JOB_DATA_TOTAL)
        stats.dataProcessed = unsigned(VIR_DOMAIN_JOB_DATA_PROCESSED)
        stats.dataRemaining = unsigned(VIR_DOMAIN_JOB_DATA_REMAINING)
        var message: UnsafePointer<CChar>?
        if virTypedParamsGetString(params, count, VIR_DOMAIN_JOB_ERRMSG, &message) == 1, let message {
            stats.errorMessage = String(cString: message)
        }
        return stats
    }

    /// Aborts the running job. The corresponding C function is `virDomainAbortJob`.
    public func abortJob() throws(LibvirtError) {
        try check(virDomainAbortJob(pointer), "virDomainAbortJob", site)
    }

    /// Polls until the domain's job ends, then returns its final statistics, or throws if it
    /// failed or was cancelled (`operationFailed`, `operationAborted`) or did not end within
    /// `timeout` (`operationTimeout`; the job is aborted). Task cancellation aborts the job too.
    public func waitForJob(operation: JobOperation? = nil, pollInterval: Duration = .milliseconds(100),
                           timeout: Duration? = nil) async throws -> JobStats {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        while try jobStats().type != .none {
            if let deadline, clock.now >= deadline {
                try? abortJob()
                throw jobError(.operationTimeout, "the job did not finish within \(timeout!)")
            }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                try? abortJob()
                throw error
            }
        }
        let stats = try jobStats(completed: true)
        if let operation, let actual = stats.operation, actual != operation {
            throw jobError(.operationFailed, "the last job was operation \(actual.rawValue), not \(operation.rawValue)")
        }
        switch stats.type {
        case .completed: return stats
        case .cancelled: throw jobError(.operationAborted, stats.errorMessage ?? "the job was cancelled")
        default: throw jobError(.operationFailed, "the job \(stats.type): \(stats.errorMessage ?? "no reason given")")
        }
    }

    private func jobError(_ code: LibvirtError.Code, _ message: String) -> LibvirtError {
        LibvirtError(code: code, domain: .qemu, message: message, operation: "virDomainGetJobStats",
                     uri: connection.uri, object: name)
    }
}
