// The live-test harness (TestServer, EventStreamReader) lives in the AerosolTesting module so
// that every test target can start real servers.
@_exported import AerosolTesting
