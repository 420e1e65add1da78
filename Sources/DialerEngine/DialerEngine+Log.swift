import DialerCore
import EventStore
import Foundation
import CoreMetrics
import Synchronization
import WritePath
import SwitchboardJSON
import SwitchboardBasics

/// The engine and its log: decisions settled once durable, decided again after a conflict, the log
/// re-read, and what other writers logged folded in.
extension DialerEngine {
    /// Carries the log's answers back into the loop: places the calls whose `call.dialed` is durable,
    /// and when another writer got in first, re-reads the log and decides the refused commands again.
    func settle() async throws {
        guard !inFlight.isEmpty else { return }
        if clock.waitsForDurableDials && inFlight.contains(where: { !$0.placements.isEmpty }) || writer.haltedBy != nil {
            await writer.idle()
        }
        let known = shared.outcomes.withLock { known in
            let taken = known
            known = [:]
            return taken
        }
        var refused: [InFlight] = []
        var remaining: [InFlight] = []
        for entry in inFlight {
            switch known[entry.ticket] {
            case true?:
                // A call ended while its dial was on its way to the log (its batch cancelled, won, timed
                // out) is not placed: nothing rings for a decision already taken back.
                for request in entry.placements where state.batches[request.reference.batchId]?.call(request.reference.callId)?.isLive == true {
                    carrier.placeCall(request)
                }
            case false?: refused.append(entry)
            case nil: remaining.append(entry)
            }
        }
        inFlight = remaining
        guard !refused.isEmpty else { return }
        guard let halted = writer.haltedBy, halted.isWriteConflict else {
            throw writer.haltedBy ?? EventStoreError.invalidAppend("a write was refused")
        }
        try await decideAgain(refused + remaining, at: clock.now)
    }

    /// Another writer moved a stream under decisions still in flight: fold the log as it is and decide
    /// them again, in their order. A command that keeps losing is given up with `writeConflict`.
    func decideAgain(_ entries: [InFlight], at now: Timestamp) async throws {
        writeConflicts.increment()
        await writer.idle()
        inFlight = []
        shared.outcomes.withLock { $0.removeAll() }
        shared.ownIds.withLock { ids in for entry in entries { ids.subtract(entry.ids) } }
        try await catchUp()
        writer.resume()
        for entry in entries {
            guard entry.attempt < LogWriter.maxAttempts else {
                let conflict = DomainError.writeConflict(stream: "\(entry.command)", attempts: entry.attempt)
                onRefusal?(conflict)
                entry.reply?(.failure(conflict))
                continue
            }
            decide(entry.command, at: now, attempt: entry.attempt + 1, reply: entry.reply)
        }
    }



    /// Folds the whole log into a fresh state (start-up); the follower's durable fold starts from it.
    func reread() async throws {
        var fresh = DurableFold()
        for try await recorded in store.events() { try fresh.fold(recorded) }
        state = fresh.state
        streamVersions = fresh.versions
        shared.durable.withLock { $0 = fresh }
    }

    /// After a conflict: the durable fold (the log as far as the follower read it), and the log after
    /// it — what this engine and others wrote since, not the whole log again.
    func catchUp() async throws {
        var fold = shared.durable.withLock { $0 }
        if fold.stalled { fold = DurableFold() }
        for try await recorded in store.events(after: fold.state.position) {
            try fold.fold(recorded)
            caughtUpEvents += 1
        }
        state = fold.state
        streamVersions = fold.versions
    }

    /// An event another writer logged: fold it (unless a re-read already did) and react for the
    /// sessions this engine works.
    func fold(foreign recorded: RecordedEvent, at now: Timestamp) {
        guard (streamVersions[recorded.stream] ?? 0) < recorded.streamVersion,
            let event = try? EventCodec.decode(recorded)
        else { return }
        streamVersions[recorded.stream] = recorded.streamVersion
        state.apply(event, position: max(state.position, recorded.position), at: recorded.time)
        let reactions = EngineCore.reactions(to: [event], in: state, now: now).filter(isMine)
        // A call placed by another engine is never placed again here, even when the session is ours.
        execute(reactions.filter { if case .placeCall = $0 { false } else { true } }, at: now)
    }
}
