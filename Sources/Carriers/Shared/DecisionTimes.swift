import CoreMetrics
import DialerCore
import Synchronization
import WritePath

/// Our part of the "hello gap", measured where it happens: from the webhook that made a batch's answer
/// arriving to the bridge leaving (Twilio: the answer hook's reply; Telnyx: `actions/bridge`), and to
/// each losing call's cancel leaving. Into `/metrics` (`switchboard_carrier_answer_to_{bridge,cancel}_seconds`)
/// and to an observer (the benchmark's).
public final class DecisionTimes: Sendable {
    public enum Step: Sendable { case bridge, cancel }

    private let answered = Mutex<[BatchID: ContinuousClock.Instant]>([:])
    private let observer = Mutex<(@Sendable (Step, BatchID, Duration) -> Void)?>(nil)
    private let toBridge: CoreMetrics.Timer
    private let toCancel: CoreMetrics.Timer

    init(carrier: String, measurements: Measurements) {
        toBridge = measurements.timer(Measurements.Name.carrierAnswerToBridgeSeconds, [("carrier", carrier)])
        toCancel = measurements.timer(Measurements.Name.carrierAnswerToCancelSeconds, [("carrier", carrier)])
    }

    /// Hands every measured step to `observe` from now on.
    public func observe(_ observe: @escaping @Sendable (Step, BatchID, Duration) -> Void) { observer.withLock { $0 = observe } }

    /// The webhook that arrived at `instant` made an answer in `batch` (the first one counts).
    func answer(in batch: BatchID, arrivedAt instant: ContinuousClock.Instant) {
        answered.withLock { answers in
            if answers.count >= 4096 { answers.removeAll(keepingCapacity: true) }
            if answers[batch] == nil { answers[batch] = instant }
        }
    }

    /// A bridge or a cancel of a call in `batch` is leaving now.
    func leaving(_ step: Step, in batch: BatchID) {
        let now = ContinuousClock.now
        guard let since = answered.withLock({ $0[batch] }) else { return }
        let elapsed = now - since
        (step == .bridge ? toBridge : toCancel).record(elapsed)
        observer.withLock { $0 }?(step, batch, elapsed)
    }
}
