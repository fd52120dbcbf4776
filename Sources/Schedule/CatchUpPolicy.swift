import Foundation

/// What the scheduler does with slots that passed while it was not running (the machine was
/// down, `serve` was stopped, or an earlier job ran long).
///
/// Like systemd's `Persistent=true` timers and anacron, missed slots are never run as a burst:
/// they collapse into at most **one** run, for the latest missed slot, and only while that slot is
/// less late than `maxLateness` of the job's period (the time from the slot to the one after it).
/// With the default of one half, the run happens if the missed slot is nearer than the next
/// regular one: a nightly 02:00 build missed because `serve` was down until 09:00 runs at 09:00;
/// if `serve` only comes back at 23:00, it waits for the 02:00 slot three hours later instead of
/// running twice in a row. Slots given up are recorded as one `.missed` run, so `schedule list`
/// and the run history show them.
public struct CatchUpPolicy: Sendable, Hashable {
    /// The largest lateness, as a fraction of the job's period, at which a missed slot still runs.
    public var maxLateness: Double

    public init(maxLateness: Double) { self.maxLateness = maxLateness }

    /// Run the latest missed slot once if it is less than half a period late.
    public static let `default` = CatchUpPolicy(maxLateness: 0.5)
    /// Run the latest missed slot once however late (systemd `Persistent=true`).
    public static let always = CatchUpPolicy(maxLateness: .infinity)

    /// Whether a slot `late` seconds late, of a job whose slots are `period` seconds apart, runs.
    func runs(late: TimeInterval, period: TimeInterval) -> Bool {
        late < maxLateness * period || maxLateness == .infinity
    }
}

/// The slots of one job owed at a time: those after its baseline and not after `now`.
struct OwedSlots {
    /// The first owed slot.
    var first: Date
    /// The latest owed slot: the only one that may still run.
    var latest: Date
    /// How many slots are owed, counted up to `countLimit`.
    var count: Int
    /// The slot after `latest` (after `now`), nil if the expression never fires again.
    var following: Date?

    static let countLimit = 1000

    /// The owed slots of `cron` in (`baseline`, `now`], found without walking every slot of a long
    /// outage: the latest is searched in growing windows before `now`.
    init?(_ cron: CronExpression, after baseline: Date, upTo now: Date, in zone: TimeZone) {
        guard let first = cron.next(after: baseline, in: zone), first <= now else { return nil }
        var latest = first
        for window in [3600.0, 86_400, 32 * 86_400, 367 * 86_400, .infinity] {
            let start = window == .infinity ? baseline : max(baseline, now.addingTimeInterval(-window))
            if let slot = cron.next(after: start, in: zone), slot <= now {
                latest = max(latest, slot)
                break
            }
        }
        var following = cron.next(after: latest, in: zone)
        while let next = following, next <= now {
            latest = next
            following = cron.next(after: next, in: zone)
        }
        var count = 1
        var t = first
        while t < latest, count < Self.countLimit, let next = cron.next(after: t, in: zone) {
            count += 1
            t = next
        }
        self.first = first
        self.latest = latest
        self.count = count
        self.following = following
    }
}
