import AerosolStore
import DTLS
import DeviceProtocol
import Foundation
import NIOCore

/// Write-behind persistence of the session (``StoredSession``): after the device is named, its
/// Hello, Describe or subscriptions change, and whenever half of the reserved outgoing sequence
/// numbers are used. One write at a time; changes made meanwhile are written next.
extension DatagramDevice {
    /// Notes that the stored session is out of date and writes it (now, or after the write in
    /// flight).
    func persist() {
        guard gateway.sessions != nil, !ended, connectionID != nil else { return }
        persistPending = true
        guard !persisting else { return }
        writeSession()
    }

    private func writeSession() {
        guard let sessions = gateway.sessions, let id = connectionID else { return }
        persistPending = false
        persisting = true
        let stored = StoredSession(
            dtls: dtls.reserveSequenceNumbers(),
            hello: session.hello,
            application: applicationDocument,
            subscriptions: session.subscriptions
        )
        let record: UDPSessionStore.Record
        do {
            record = UDPSessionStore.Record(connectionID: "\(id)", deviceID: deviceID, session: try stored.encoded())
        } catch {
            persisting = false
            logger.error("could not encode the device's session", metadata: ["reason": "\(error)"])
            return
        }
        let logger = self.logger
        eventLoop.makeFutureWithTask { try await sessions.save(record) }.assumeIsolated().whenComplete { result in
            if case .failure(let error) = result {
                logger.error("could not store the device's session", metadata: ["reason": "\(error)"])
            }
            self.persisting = false
            if self.persistPending, !self.ended { self.writeSession() }
        }
    }

    /// Forgets the stored session (it ended for good).
    func forgetStoredSession() {
        guard let sessions = gateway.sessions, let id = connectionID else { return }
        let logger = self.logger
        eventLoop.makeFutureWithTask { try await sessions.delete(connectionID: "\(id)") }.whenFailure { error in
            logger.error("could not forget the device's session", metadata: ["reason": "\(error)"])
        }
    }
}
