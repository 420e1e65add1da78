import DialerCore
import DialerEngine

/// What a carrier's webhook says about one of our calls, in the engine's words, before ordering.
/// Each adapter maps its vendor's strings to these (Twilio `CallStatus`, Telnyx `event_type` and
/// `hangup_cause`); this type knows no vendor.
public enum CallReport: Hashable, Sendable {
    case ringing
    /// The call was picked up; the AMD verdict may come with it (Twilio's sync AMD) or later.
    case answered(AnsweredBy?)
    /// The AMD verdict, on its own (Twilio's `AsyncAmdStatusCallback`, Telnyx `call.machine.*.detection.ended`).
    case verdict(AnsweredBy)
    case noAnswer
    case busy
    case failed(String)
    /// A call that had been answered ended (`endedBy` as far as the carrier says).
    case completed(HangupSide)
    /// The carrier stopped the call at our request before it was answered (Twilio `canceled`, Telnyx
    /// `originator_cancel`): the engine recorded that when it asked.
    case canceled
}

/// One call's reports put in order: duplicates and late deliveries never move a call backwards or
/// report anything twice, a terminal state is final, and the answer is held until the AMD verdict
/// comes or `CallProgress.verdictWaitMs` passes (then it is `unknown`).
///
/// Why hold the answer: the engine picks the winner on `answered(by:)`, and its AMD policy needs the
/// verdict to pick. Both carriers send the answer and the verdict apart. Holding the answer a bounded
/// time keeps the engine's contract, and the bound is ours (not Twilio's 30 s `MachineDetectionTimeout`):
/// a person waits at most that long, well inside the 2-second rule, and a late verdict is ignored.
///
/// A value type with no clock: the adapter passes `now` and arms a timer for `verdictDueAt`.
public struct CallProgress: Sendable {
    public enum Phase: Int, Comparable, Sendable {
        case placed, ringing, answering, answered, playingSafeHarbor, ended
        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    public private(set) var phase = Phase.placed
    /// Whether the call was placed with answering-machine detection (else an answer is `unknown` at once).
    public let machineDetection: Bool
    public let verdictWaitMs: Int64
    /// When the held answer becomes `unknown`, while it is held.
    public private(set) var verdictDueAt: Int64?
    /// Webhook ids already taken (Twilio `CallSid:SequenceNumber`, Telnyx `data.id`).
    private var seen: Set<String> = []

    /// `phase`: where a call the carrier still has stands after our restart (ringing, or answered).
    public init(machineDetection: Bool, verdictWaitMs: Int64, phase: Phase = .placed) {
        self.machineDetection = machineDetection
        self.verdictWaitMs = verdictWaitMs
        self.phase = phase
    }

    /// What the engine should hear for `report`, delivered once (`id`: the webhook's own id for dedupe).
    public mutating func take(_ report: CallReport, id: String? = nil, nowMs: Int64) -> [CallOutcome] {
        if let id { guard seen.insert(id).inserted else { return [] } }
        guard phase != .ended else { return [] }
        switch report {
        case .ringing:
            guard phase == .placed else { return [] }
            phase = .ringing
            return [.ringing]
        case .answered(let by):
            guard phase < .answering else { return [] }
            if let by { return answer(by) }
            guard machineDetection else { return answer(.unknown) }
            phase = .answering
            verdictDueAt = nowMs + verdictWaitMs
            return []
        case .verdict(let by):
            // A verdict is only reached on an answered call: if it overtook the answer, it is the answer.
            guard phase < .answered else { return [] }
            return answer(by)
        case .noAnswer, .busy, .failed, .canceled:
            // After an answer, an end is a completion whatever the carrier calls it.
            if phase >= .answering { return end(completedBy: .contact) }
            phase = .ended
            verdictDueAt = nil
            switch report {
            case .noAnswer: return [.noAnswer]
            case .busy: return [.busy]
            case .failed(let reason): return [.failed(reason)]
            default: return []
            }
        case .completed(let side):
            return end(completedBy: side)
        }
    }

    /// The held answer's time is up: it is `unknown`.
    public mutating func verdictTimedOut(nowMs: Int64) -> [CallOutcome] {
        guard phase == .answering, let due = verdictDueAt, nowMs >= due else { return [] }
        return answer(.unknown)
    }

    /// The safe-harbor message began (the carrier took our request): its end is the call's end.
    public mutating func safeHarborStarted() -> [CallOutcome] {
        guard phase == .answered else { return [] }
        phase = .playingSafeHarbor
        return [.safeHarborStarted]
    }

    /// We hung the call up (or cancelled it): the carrier's report of that end tells the engine nothing new.
    public mutating func endedByUs() {
        phase = .ended
        verdictDueAt = nil
    }

    private mutating func answer(_ by: AnsweredBy) -> [CallOutcome] {
        phase = .answered
        verdictDueAt = nil
        return [.answered(by)]
    }

    /// A connected call's end; a completion that overtook the answer reports the answer first (Twilio's
    /// `completed` only follows an answer), and the end of a safe-harbor message is that message's end.
    private mutating func end(completedBy side: HangupSide) -> [CallOutcome] {
        let before = phase
        phase = .ended
        verdictDueAt = nil
        switch before {
        case .placed, .ringing, .answering: return [.answered(.unknown), .completed(side)]
        case .answered: return [.completed(side)]
        case .playingSafeHarbor: return [.safeHarborEnded]
        case .ended: return []
        }
    }
}

/// What the engine hears about a call, once and in order (a `CarrierEvent` without its reference).
public enum CallOutcome: Hashable, Sendable {
    case ringing, answered(AnsweredBy), noAnswer, busy, failed(String), completed(HangupSide)
    case safeHarborStarted, safeHarborEnded

    public func event(for reference: CallReference) -> CarrierEvent {
        switch self {
        case .ringing: .ringing(reference)
        case .answered(let by): .answered(reference, answeredBy: by)
        case .noAnswer: .noAnswer(reference)
        case .busy: .busy(reference)
        case .failed(let reason): .failed(reference, reason: reason)
        case .completed(let side): .completed(reference, endedBy: side)
        case .safeHarborStarted: .safeHarborStarted(reference)
        case .safeHarborEnded: .safeHarborEnded(reference)
        }
    }
}
