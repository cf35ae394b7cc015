import AerosolModels

extension DeviceSubscription {
    /// Whether `event` goes to a device of `ownerID` through this subscription: the name starts
    /// with the prefix; with `u`, the event must also be in the owner's own scope (their devices,
    /// their API publishes, their webhooks' answers), not merely in the device's product.
    public func matches(_ event: Event, ownerID: String?) -> Bool {
        guard EventFilter.name(event.name, hasPrefix: prefix) else { return false }
        guard ownDevicesOnly else { return true }
        return ownerID != nil && event.userID == ownerID
    }
}
