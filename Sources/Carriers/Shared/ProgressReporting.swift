import DialerEngine
import SwitchboardBasics

/// What every HTTP carrier adapter does the same way: run work on the engine's clock (so pacing and the
/// verdict wait are virtual in tests), and turn a change to a call's `CallProgress` into the engine's
/// events, in order, arming the verdict's timer when an answer is held. An adapter says only how its
/// own state holds a call's progress.
protocol ProgressReporting: AnyObject, Sendable {
    associatedtype Clock: EngineClock
    var clock: Clock { get }
    var decisions: DecisionTimes { get }
    /// Applies `change` to the call's progress under the adapter's lock: where to deliver, what came of
    /// it, and when a held answer's verdict is due (`nil` for a call it does not know).
    func changeProgress(_ reference: CallReference, _ change: (inout CallProgress) -> [CallOutcome])
        -> (sink: (any CarrierEventSink)?, outcomes: [CallOutcome], verdictDueAt: Int64?)
}

extension ProgressReporting {
    /// Runs `work` on the engine's clock at `ms`.
    func later(at ms: Int64, _ work: @escaping @Sendable (Self) -> Void) {
        clock.schedule(.deferred { [weak self] in
            if let self { work(self) }
            return nil
        }, at: Timestamp(millisecondsSinceEpoch: ms))
    }

    /// Applies `change` to a call's progress and tells the engine what came of it, in order.
    /// `arrivedAt`: when the webhook behind the change arrived (an answer it makes starts our timing).
    func report(_ reference: CallReference, arrivedAt: ContinuousClock.Instant? = nil,
                _ change: (inout CallProgress) -> [CallOutcome]) {
        let (sink, outcomes, due) = changeProgress(reference, change)
        if let arrivedAt, outcomes.contains(where: { if case .answered = $0 { true } else { false } }) {
            decisions.answer(in: reference.batchId, arrivedAt: arrivedAt)
        }
        for outcome in outcomes { sink?.deliver(outcome.event(for: reference)) }
        if let due { armVerdictTimer(reference, at: due) }
    }

    /// When the held answer's verdict is due, the answer goes to the engine as `unknown` if it is still held.
    func armVerdictTimer(_ reference: CallReference, at due: Int64) {
        later(at: due) { carrier in
            carrier.report(reference) { $0.verdictTimedOut(nowMs: carrier.clock.now.millisecondsSinceEpoch) }
        }
    }
}
