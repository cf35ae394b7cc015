import AsyncHTTPClient
import Foundation
import NIOCore
import ServerSentEvents

/// A resumable event stream: an `AsyncSequence` of ``StreamUpdate``s.
///
/// It connects, yields events as they arrive, and when the connection ends, fails, or stays
/// silent longer than ``StreamOptions/idleTimeout`` it reconnects with backoff and jitter,
/// sending `Last-Event-ID` so that (against Aerosol) no event is lost or repeated. Each reconnect
/// is yielded as ``StreamUpdate/reconnecting(reason:attempt:retryIn:)``. A 400, 401, 403 or 404
/// ends the sequence with a ``ClientError``; cancelling the consuming task ends it cleanly.
///
/// Nothing is buffered between the connection and the consumer: the connection reads on only
/// once the consumer has taken the last event, so a slow consumer slows the reading (and the
/// server, which may close the stream and is then resumed from) rather than losing events. The
/// `Last-Event-ID` of a reconnect is the id of the last event the consumer received.
public struct EventStream: AsyncSequence, Sendable {
    public typealias Element = StreamUpdate

    let client: AerosolClient
    let path: String
    let options: StreamOptions

    /// Iterates the updates; the connection lives exactly as long as the iterator.
    public struct Iterator: AsyncIteratorProtocol {
        let handOff: HandOff<StreamUpdate>
        let connection: ConnectionLifetime

        public mutating func next() async throws -> StreamUpdate? {
            do {
                guard let update = try await handOff.receive() else {
                    // The end, or the consumer's task was cancelled: either way the
                    // connection has nobody left to read for.
                    connection.task.cancel()
                    return nil
                }
                return update
            } catch {
                connection.task.cancel()
                throw error
            }
        }
    }

    /// Cancels the connection task when the last copy of the iterator goes away (a consumer that
    /// `break`s out of its loop must not leave a connection open).
    final class ConnectionLifetime: Sendable {
        let task: Task<Void, Never>

        init(_ task: Task<Void, Never>) {
            self.task = task
        }

        deinit {
            task.cancel()
        }
    }

    public func makeAsyncIterator() -> Iterator {
        let handOff = HandOff<StreamUpdate>()
        // The connection loop needs a task of its own that outlives each `next()` call. It is
        // bound to the iterator: when the consumer is cancelled the hand-off ends and the
        // iterator cancels the task, and when the consumer drops the iterator its lifetime
        // object cancels the task; either closes the connection.
        let task = Task { [self] in
            await run(handOff)
        }
        return Iterator(handOff: handOff, connection: ConnectionLifetime(task))
    }

    /// Only the events, without connection updates.
    public var events: AsyncCompactMapSequence<EventStream, CloudEvent> {
        compactMap { update in
            if case .event(let event) = update { event } else { nil }
        }
    }

    private func run(_ handOff: HandOff<StreamUpdate>) async {
        var backoff = ReconnectBackoff(initial: options.initialBackoff, maximum: options.maxBackoff)
        var generator = SystemRandomNumberGenerator()
        let cursor = StreamCursor(lastID: options.lastEventID)
        if options.lastEventID == nil { cursor.setStart(await logPosition()) }
        while !Task.isCancelled {
            let reason: String
            do {
                try await connectOnce(cursor: cursor, backoff: &backoff, handOff: handOff)
                reason = "the server closed the stream"
            } catch let error as ClientError where Self.isFatal(error) {
                handOff.finish(throwing: error)
                return
            } catch is CancellationError {
                // Cancelled, or the consumer is gone.
                break
            } catch {
                if Task.isCancelled { break }
                reason = "\(error)"
            }
            if Task.isCancelled { break }
            let delay = backoff.nextDelay(using: &generator)
            guard await handOff.send(.reconnecting(reason: reason, attempt: backoff.attempt, retryIn: delay)) else {
                break
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                break
            }
        }
        handOff.finish()
    }

    /// Errors that another attempt cannot fix: refused credentials or access, or a stream that
    /// does not exist.
    static func isFatal(_ error: ClientError) -> Bool {
        guard let status = error.status else { return false }
        return status == 400 || status == 401 || status == 403 || status == 404
    }
}

extension AerosolClient {
    /// Opens a resumable event stream of `scope`, optionally only events whose name starts with
    /// `prefix`.
    ///
    /// ```swift
    /// for try await update in client.events(.product("my-product"), prefix: "temp") {
    ///     if case .event(let event) = update { print(event.name, event.data ?? "") }
    /// }
    /// ```
    public func events(_ scope: StreamScope = .mine, prefix: String? = nil, options: StreamOptions = .init())
        -> EventStream
    {
        EventStream(client: self, path: scope.path(prefix: prefix), options: options)
    }
}
