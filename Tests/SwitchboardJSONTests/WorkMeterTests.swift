import Foundation
import SwitchboardBasics
import Testing

@Suite("Work meters")
struct WorkMeterTests {
    @Test func aMeterCountsTheCPUTimeOfItsWorkAndNotTheTimeItWaits() {
        let meter = WorkMeter()
        // Waiting (a sleep, a blocked read) takes no CPU: next to nothing is counted.
        meter.measure { usleep(100_000) }
        #expect(meter.seconds < 0.05)
        // Spinning until the thread's own clock has moved 20 ms counts those 20 ms, however long the
        // scheduler makes it take.
        let waited = meter.seconds
        let spun = meter.measure { () -> Double in
            let start = threadCPUSeconds()
            var turns = 0.0
            while threadCPUSeconds() - start < 0.02 { turns += 1 }
            return turns
        }
        #expect(spun > 0)
        #expect(meter.seconds - waited >= 0.019)
    }

    @Test func theNodesStagesAreNamedOnceEach() {
        let stages = WorkMeters().stages.map(\.stage)
        #expect(stages == ["engine", "writes", "projections", "feed", "transport"])
    }
}

private func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
