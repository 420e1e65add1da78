import DialerEngine
import Foundation
import Testing

/// The engine's own thread: work that prefers it runs there, and work that still prefers it after it
/// stopped runs on the pool rather than never.
@Suite("The engine's thread", .timeLimit(.minutes(1)))
struct EngineThreadTests {
    @Test func workThatPrefersTheEnginesThreadRunsThereAndStillRunsAfterItStopped() async {
        let engine = EngineThread(name: "engine-thread-test")
        #expect(!engine.isCurrent)
        let inside = await withTaskExecutorPreference(engine) { () async -> [Bool] in
            var found: [Bool] = []
            for _ in 0..<3 {
                found.append(engine.isCurrent)
                await Task.yield()  // resumed by the executor it prefers: the same thread again
            }
            return found
        }
        #expect(inside == [true, true, true])
        engine.stop()
        try? await Task.sleep(for: .milliseconds(50))  // let the thread end (the answer below does not depend on it)
        let after = await withTaskExecutorPreference(engine) { () async -> Int in
            await Task.yield()
            return 42
        }
        #expect(after == 42)
    }
}
