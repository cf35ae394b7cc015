@_exported import WireClient
