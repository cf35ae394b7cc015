/// How a transfer ended.
public enum TransferOutcome: Hashable, Sendable {
    /// The device took the whole file and accepted it: it restarts to apply it. Whether it runs
    /// the new firmware afterwards is for ``UpdateVerification`` to tell from its next Describe.
    case success
    /// The transfer failed or was cancelled; the reason is a sentence for logs and the API.
    case failure(String)

    /// The `spark/flash/status` value to publish for this outcome.
    public var flashStatus: FlashStatus {
        switch self {
        case .success: .success
        case .failure: .failed
        }
    }
}
