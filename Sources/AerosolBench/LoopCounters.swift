/// The ``Tally`` of the client connections on one event loop. Handlers on that loop update it
/// directly, without locks or atomics; ``StatsBoard`` only reads or resets it on that loop.
final class LoopCounters {
    var tally = Tally()
}
