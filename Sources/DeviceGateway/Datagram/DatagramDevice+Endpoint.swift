import AerosolModels
import CoAP
import DeviceProtocol
import NIOCore

/// Requests from the REST API and event deliveries, arriving through a ``DeviceLink``.
extension DatagramDevice: DeviceEndpoint {
    /// Sends `request` (a CON, retransmitted until ACKed); `promise` completes with the device's
    /// answer, or fails after `timeout`.
    func send(_ request: DeviceRequest, timeout: Duration, promise: EventLoopPromise<DeviceResponse>) {
        guard !ended, isOnline, session.isEstablished else {
            promise.fail(GatewayError.notConnected())
            return
        }
        guard case let (token, message)? = session.start(request) else {
            promise.fail(GatewayError.busy("255 requests to this device are waiting for its answer already"))
            return
        }
        let timer = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            self.session.abandon(token)
            let waiter = self.waiters.removeValue(forKey: token)
            waiter?.promise.fail(GatewayError.timedOut("the device did not answer within \(timeout)"))
        }
        waiters[token] = Waiter(promise: promise, timer: timer)
        send(message)
    }

    /// Completes the REST request waiting for `token`.
    func complete(_ token: UInt8, _ response: DeviceResponse) {
        guard let waiter = waiters.removeValue(forKey: token) else { return }
        waiter.timer.cancel()
        waiter.promise.succeed(response)
    }

    /// Sends `event` to the device if a subscription matches and it fits the device's maximum
    /// message size.
    func deliver(_ event: Event) {
        guard !ended, isOnline,
            session.subscriptions.contains(where: { $0.matches(event, ownerID: ownerID) }),
            let message = session.delivery(of: event.name, data: event.data)
        else { return }
        guard let size = try? message.encoded().count, size <= maximumMessageSize else {
            logger.debug(
                "event not delivered to the device: larger than its maximum message size",
                metadata: ["event.name": "\(event.name)", "device.max_message": "\(maximumMessageSize)"]
            )
            return
        }
        send(message)
    }

    /// Reads the device's owner and product again, for its subscriptions from now on.
    func refreshScope() {
        guard let deviceID, isOnline, !ended else { return }
        let devices = gateway.devices
        step(eventLoop.makeFutureWithTask { try await devices.find(id: deviceID) }) { result in
            switch result {
            case .success(let device):
                self.ownerID = device?.ownerID
                self.productID = device?.productID
                self.updateSubscriptions()
            case .failure(let error):
                self.logger.error("could not read the device's owner again", metadata: ["reason": "\(error)"])
            }
        }
    }

    /// Ends the session: another connection of the device took over, or its key changed. An
    /// encrypted close_notify makes the device discard the session and handshake again.
    func disconnect() {
        end("replaced by another connection, or the device's key changed", notify: true)
    }
}
