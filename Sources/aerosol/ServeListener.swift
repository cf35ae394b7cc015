import DeviceGateway

/// A listener `aerosol serve` opens: what it is for, where, and the flag that moves it.
struct ServeListener {
    var purpose: String
    var address: ListenAddress
    var option: String

    /// The one-line message for `error`, a failure to listen here.
    func failure(_ error: any Error) -> String {
        var message = "cannot listen for \(purpose) on \(address): \(ListenAddress.reason(error))"
        if ListenAddress.isInUse(error) { message += " (choose another port with \(option))" }
        return message
    }
}
