import Foundation
import Synchronization

/// A thread of the engine's own, as the executor its loop prefers: its decisions never wait for a
/// thread of the cooperative pool, which the feed, the projections and the API share (two threads on a
/// two-core box). On a 2 000-agent floor, an answer's cancels waited there for tens of milliseconds
/// while the engine itself was nearly idle.
public final class EngineThread: TaskExecutor {
    private struct Queue {
        var jobs: [UnownedJob] = []
        var stopping = false
        var exited = false
    }

    private let queue = Mutex(Queue())
    private let ready = DispatchSemaphore(value: 0)
    /// The thread (`pthread_self`), once it runs.
    private let threadId = Atomic<UInt>(0)

    /// Whether the caller runs on this executor's thread.
    public var isCurrent: Bool { threadId.load(ordering: .acquiring) == Self.currentThreadId() }

    private static func currentThreadId() -> UInt { UInt(pthread_self()) }

    public init(name: String = "switchboard-engine") {
        // The thread keeps its executor until `stop()` lets it end.
        let thread = Thread { [self] in
            threadId.store(Self.currentThreadId(), ordering: .releasing)
            while true {
                ready.wait()
                let jobs = queue.withLock { queue in
                    defer { queue.jobs.removeAll(keepingCapacity: true) }
                    return queue.jobs
                }
                for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
                let done = queue.withLock { queue -> Bool in
                    guard queue.stopping, queue.jobs.isEmpty else { return false }
                    queue.exited = true
                    return true
                }
                if done { return }
            }
        }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: UnownedJob) {
        let queued = queue.withLock { queue -> Bool in
            guard !queue.exited else { return false }
            queue.jobs.append(job)
            return true
        }
        // A task that still prefers this executor after it stopped (a timer's sleeper) runs on the pool.
        if queued { ready.signal() } else { globalConcurrentExecutor.enqueue(job) }
    }

    /// Lets the thread end once it has run what it was given; later work runs on the pool.
    public func stop() {
        queue.withLock { $0.stopping = true }
        ready.signal()
    }
}
