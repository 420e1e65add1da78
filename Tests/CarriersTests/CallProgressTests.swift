import Carriers
import DialerCore
import Testing

@Suite("A call's carrier reports, in order")
struct CallProgressTests {
    static func amd() -> CallProgress { CallProgress(machineDetection: true, verdictWaitMs: 1500) }

    @Test func theAnswerWaitsForTheVerdict() {
        var call = Self.amd()
        #expect(call.take(.ringing, nowMs: 0) == [.ringing])
        #expect(call.take(.answered(nil), nowMs: 1000) == [])
        #expect(call.verdictDueAt == 2500)
        #expect(call.take(.verdict(.human), nowMs: 1800) == [.answered(.human)])
        #expect(call.verdictTimedOut(nowMs: 2500) == [])
        #expect(call.take(.completed(.contact), nowMs: 9000) == [.completed(.contact)])
    }

    @Test func noVerdictInTimeIsUnknownAndALateOneIsIgnored() {
        var call = Self.amd()
        _ = call.take(.answered(nil), nowMs: 1000)
        #expect(call.verdictTimedOut(nowMs: 2499) == [])
        #expect(call.verdictTimedOut(nowMs: 2500) == [.answered(.unknown)])
        #expect(call.take(.verdict(.machine), nowMs: 2600) == [])
    }

    @Test func withoutDetectionAnAnswerIsUnknownAtOnce() {
        var call = CallProgress(machineDetection: false, verdictWaitMs: 1500)
        #expect(call.take(.answered(nil), nowMs: 0) == [.answered(.unknown)])
    }

    @Test func aVerdictThatOvertookTheAnswerIsTheAnswer() {
        var call = Self.amd()
        #expect(call.take(.verdict(.machine), nowMs: 1000) == [.answered(.machine)])
        #expect(call.take(.answered(nil), nowMs: 1001) == [])
        #expect(call.take(.ringing, nowMs: 1002) == [])
    }

    @Test func duplicatesAndLateReportsNeverMoveACallBack() {
        var call = Self.amd()
        #expect(call.take(.ringing, id: "s1", nowMs: 0) == [.ringing])
        #expect(call.take(.ringing, id: "s1", nowMs: 1) == [])
        #expect(call.take(.answered(.human), id: "s2", nowMs: 2) == [.answered(.human)])
        #expect(call.take(.answered(.human), id: "s2", nowMs: 3) == [])
        #expect(call.take(.ringing, id: "s0", nowMs: 4) == [])
        #expect(call.take(.completed(.contact), id: "s3", nowMs: 5) == [.completed(.contact)])
        #expect(call.take(.completed(.contact), id: "s4", nowMs: 6) == [])
        #expect(call.take(.answered(.human), id: "s5", nowMs: 7) == [])
    }

    @Test func aCompletionThatOvertookTheAnswerReportsBoth() {
        var call = Self.amd()
        #expect(call.take(.completed(.contact), nowMs: 0) == [.answered(.unknown), .completed(.contact)])
    }

    @Test func aPersonWhoHangsUpDuringDetectionWasAnswered() {
        var call = Self.amd()
        _ = call.take(.answered(nil), nowMs: 0)
        #expect(call.take(.noAnswer, nowMs: 500) == [.answered(.unknown), .completed(.contact)])
    }

    @Test func unansweredEndsAreFinal() {
        var busy = Self.amd()
        #expect(busy.take(.busy, nowMs: 0) == [.busy])
        #expect(busy.take(.answered(.human), nowMs: 1) == [])
        var failed = Self.amd()
        #expect(failed.take(.failed("twilio 21211: invalid To"), nowMs: 0) == [.failed("twilio 21211: invalid To")])
        var canceled = Self.amd()
        #expect(canceled.take(.ringing, nowMs: 0) == [.ringing])
        #expect(canceled.take(.canceled, nowMs: 1) == [])
        #expect(canceled.take(.noAnswer, nowMs: 2) == [])
    }

    @Test func theSafeHarborMessageEndsWithTheCall() {
        var call = Self.amd()
        _ = call.take(.answered(.human), nowMs: 0)
        #expect(call.safeHarborStarted() == [.safeHarborStarted])
        #expect(call.safeHarborStarted() == [])
        #expect(call.take(.completed(.contact), nowMs: 4000) == [.safeHarborEnded])
    }

    @Test func whatWeEndedReportsNothingMore() {
        var call = Self.amd()
        _ = call.take(.answered(.machine), nowMs: 0)
        call.endedByUs()
        #expect(call.take(.completed(.contact), nowMs: 1) == [])
    }
}

@Suite("Calls per second across the node")
struct DialPacerTests {
    @Test func everyCallGetsItsOwnSlot() {
        var pacer = DialPacer(callsPerSecond: 1)
        #expect([pacer.reserve(nowMs: 0), pacer.reserve(nowMs: 0), pacer.reserve(nowMs: 100), pacer.reserve(nowMs: 5000)]
            == [0, 1050, 2100, 5000])
        var telnyx = DialPacer(callsPerSecond: 30)
        #expect(telnyx.spacingMs == 35)
        let slots = (0..<31).map { _ in telnyx.reserve(nowMs: 0) }
        // No second holds more than 30.
        #expect(slots.filter { $0 < 1000 }.count <= 30)
    }

    @Test func aRefusalPushesLaterSlotsBackByAGrowingPause() {
        var pacer = DialPacer(callsPerSecond: 10)
        _ = pacer.reserve(nowMs: 0)
        #expect(pacer.refused(nowMs: 50) == 1000)
        #expect(pacer.reserve(nowMs: 60) == 1050)
        #expect(pacer.reserve(nowMs: 60) == 1155)
        #expect(pacer.refused(nowMs: 1100) == 2000)
        #expect(pacer.refused(nowMs: 1100, retryAfterMs: 5000) == 5000)
        #expect(pacer.isBackingOff)
        pacer.accepted()
        #expect(!pacer.isBackingOff)
        #expect(pacer.refused(nowMs: 9000) == 1000)
    }
}
