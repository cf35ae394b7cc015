import Firmware
import Foundation
import Hummingbird

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A firmware binary received as `multipart/form-data` (the `file` part, as Particle's clients
/// send it), streamed to a file in the data directory as it arrives and never held whole in
/// memory. More than the limit is refused with 413 as soon as it is exceeded.
///
/// The file is unlinked as soon as it is open: its bytes stay readable through ``file`` for as
/// long as a transfer holds it, and nothing is left on disk whatever happens next.
struct FirmwareUpload: Sendable {
    /// The binary.
    let file: FirmwareFile
    /// The file name the client gave, if any.
    let fileName: String?
    /// The text fields sent with it.
    let fields: [String: String]
    /// Lowercase hex SHA-256 of the file, when it was kept.
    var sha256: String?

    /// Whether `request` carries a multipart body.
    static func isMultipart(_ request: Request) -> Bool {
        request.headers[.contentType]?.lowercased().hasPrefix("multipart/form-data") == true
    }

    /// Reads the body of `request` into a file under `directory`, refusing a file part larger
    /// than `limit` bytes.
    ///
    /// - Throws: ``APIError`` 400 (malformed body, no file part), 413 (too large).
    static func receive(_ request: Request, limit: Int, directory: String) async throws -> FirmwareUpload {
        try await receive(request, limit: limit, directory: directory, keepIn: nil)
    }

    /// Reads the body as ``receive(_:limit:directory:)`` does and keeps the file in
    /// `keepIn`, named by its SHA-256 (`<hex>.bin`): content-addressed, so the same binary is
    /// stored once however often it is uploaded.
    static func receive(_ request: Request, limit: Int, directory: String, keepIn: String?) async throws
        -> FirmwareUpload
    {
        guard var parser = MultipartParser(contentType: request.headers[.contentType] ?? "") else {
            throw APIError.badRequest("Malformed multipart body: its Content-Type has no boundary")
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }),
            length > limit + MultipartParser.fieldLimit + 16 * 1024
        {
            throw tooLarge(limit: limit)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/upload-" + UUID().uuidString + ".bin"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw APIError.resource(.internalServerError, "Cannot store the upload") }
        var isOpen = true
        defer {
            if isOpen { close(descriptor) }
            unlink(path)
        }
        var written = 0
        var digest = UploadDigest()
        for try await buffer in request.body {
            try parser.feed(buffer.readableBytesView) { bytes in
                written += bytes.count
                guard written <= limit else { throw tooLarge(limit: limit) }
                try store(bytes, to: descriptor)
                if keepIn != nil { digest.append(bytes) }
            }
            if parser.isComplete { break }
        }
        guard parser.isComplete else {
            throw APIError.badRequest("Malformed multipart body: it ends before its closing boundary")
        }
        guard parser.sawFile else {
            throw APIError.badRequest("No firmware file: send the binary as the multipart field \"file\"")
        }
        close(descriptor)
        isOpen = false
        var kept = path
        var sha256: String?
        if let keepIn {
            let hex = digest.result.fileSHA256.map { String($0 >> 4, radix: 16) + String($0 & 0x0F, radix: 16) }
                .joined()
            try FileManager.default.createDirectory(atPath: keepIn, withIntermediateDirectories: true)
            kept = keepIn + "/" + hex + ".bin"
            guard rename(path, kept) == 0 else {
                throw APIError.resource(.internalServerError, "Cannot store the upload")
            }
            sha256 = hex
        }
        let file: FirmwareFile
        do {
            file = try FirmwareFile(path: kept)
        } catch {
            throw APIError.resource(.internalServerError, "Cannot read the stored upload")
        }
        return FirmwareUpload(file: file, fileName: parser.fileName, fields: parser.fields, sha256: sha256)
    }

    private static func tooLarge(limit: Int) -> APIError {
        APIError.resource(.contentTooLarge, "Firmware file too large: the limit is \(limit) bytes")
            .with(.connection, "close")
    }

    private static func store(_ bytes: ArraySlice<UInt8>, to descriptor: Int32) throws {
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { throw APIError.resource(.internalServerError, "Cannot store the upload") }
                done += count
            }
        }
    }
}
