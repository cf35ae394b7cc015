import AerosolModels
import CoAP
import DeviceProtocol
import NIOCore

/// Requests from the REST API (variables, functions, signal, Describe) and event deliveries
/// to the device's subscriptions, both arriving through a ``DeviceLink``.
extension DeviceChannelHandler {
    /// Sends `request`; `promise` completes with the device's answer, or fails after `timeout`.
    func send(_ request: DeviceRequest, timeout: Duration, promise: EventLoopPromise<DeviceResponse>) {
        guard let context, !closing, session?.isEstablished == true else {
            promise.fail(GatewayError.notConnected())
            return
        }
        guard case let (token, message)? = session!.start(request) else {
            promise.fail(GatewayError.busy("255 requests to this device are waiting for its answer already"))
            return
        }
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            self.session?.abandon(token)
            let waiter = self.waiters.removeValue(forKey: token)
            waiter?.promise.fail(GatewayError.timedOut("the device did not answer within \(timeout)"))
        }
        waiters[token] = Waiter(promise: promise, timer: timer)
        write(message)
        flushIfNeeded()
    }

    /// Completes the REST request waiting for `token`.
    func complete(_ token: UInt8, _ response: DeviceResponse) {
        guard let waiter = waiters.removeValue(forKey: token) else { return }
        waiter.timer.cancel()
        waiter.promise.succeed(response)
    }

    /// Writes `event` to the device if a subscription matches and the message fits the size the
    /// device announced; dropped (and counted) when the connection cannot take more.
    func deliver(_ event: Event) {
        guard let context, !closing, let subscriptions = session?.subscriptions,
            subscriptions.contains(where: { $0.matches(event, ownerID: online?.ownerID) })
        else { return }
        guard context.channel.isWritable else {
            droppedDeliveries += 1
            if droppedDeliveries.nonzeroBitCount == 1 {
                logger.warning(
                    "event not delivered to the device: its connection is backed up",
                    metadata: ["event.name": "\(event.name)", "device.dropped": "\(droppedDeliveries)"]
                )
            }
            return
        }
        guard let message = session!.delivery(of: event.name, data: event.data) else { return }
        guard let size = try? message.encoded().count, size <= maximumMessageSize else {
            logger.debug(
                "event not delivered to the device: larger than its maximum message size",
                metadata: ["event.name": "\(event.name)", "device.max_message": "\(maximumMessageSize)"]
            )
            return
        }
        write(message)
        flushIfNeeded()
    }

    func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }
}
