import DequeModule
import EventStore

/// The last commits the pump delivered, as it delivered them (the stored events and what they were
/// about), up to `maxEvents`: a subscriber a little behind — a page reconnecting, a wall that fell
/// back under load — catches up from here, in memory, before the store is touched. Reading the log
/// and decoding it again for every subscriber that fell behind is what turned a node past its
/// capacity into one in a spiral (each late reader made the others later).
struct RecentCommits {
    struct Commit: Sendable {
        var events: [RecordedEvent]
        var view: CommitView
        var last: Int64 { view.position }
    }

    private var commits = Deque<Commit>()
    private(set) var events = 0
    let maxEvents: Int

    init(maxEvents: Int) { self.maxEvents = maxEvents }

    /// The position it serves from: a subscriber at `after >= start` is served here.
    private(set) var start: Int64 = .max

    mutating func append(_ commit: Commit) {
        guard let first = commit.events.first else { return }
        if commits.isEmpty { start = first.position - 1 }
        commits.append(commit)
        events += commit.events.count
        while events > maxEvents, commits.count > 1, let oldest = commits.popFirst() {
            events -= oldest.events.count
            start = oldest.last
        }
    }

    /// The commits after `position`, whole, until `limit` events are reached (at least one commit);
    /// `nil` when `position` is before what is kept (read the store).
    func after(_ position: Int64, limit: Int) -> [Commit]? {
        guard position >= start else { return nil }
        // The first commit ending after `position` (commits are in log order).
        var low = 0, high = commits.count
        while low < high {
            let middle = (low + high) / 2
            if commits[middle].last <= position { low = middle + 1 } else { high = middle }
        }
        var taken: [Commit] = []
        var count = 0
        for index in low..<commits.count {
            taken.append(commits[index])
            count += commits[index].events.count
            if count >= limit { break }
        }
        return taken
    }
}
