import Foundation

/// ISO-8601 UTC timestamps with milliseconds (`2015-07-18T00:12:18.174Z`), as Particle sends them.
///
/// Hand-written because it runs once per event on the publish path; it has no locale, no
/// formatter state and no allocation beyond the result.
public enum Timestamp {
    /// Formats `date` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
    public static func format(_ date: Date) -> String {
        format(milliseconds: milliseconds(date))
    }

    /// Whole milliseconds since 1970 (rounded down), the unit the store keeps.
    ///
    /// A `Date` made from whole milliseconds may hold a value a hair below them, so the time is
    /// first rounded to whole microseconds, then floored to milliseconds in integers.
    public static func milliseconds(_ date: Date) -> Int64 {
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let (quotient, remainder) = microseconds.quotientAndRemainder(dividingBy: 1000)
        return remainder < 0 ? quotient - 1 : quotient
    }

    /// The date `milliseconds` after 1970.
    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Formats milliseconds since 1970 as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
    public static func format(milliseconds: Int64) -> String {
        let (days, msOfDay) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        let dayNumber = msOfDay < 0 ? days - 1 : days
        let ms = msOfDay < 0 ? msOfDay + 86_400_000 : msOfDay
        let (year, month, day) = civil(fromDays: dayNumber)
        let hour = ms / 3_600_000
        let minute = ms / 60_000 % 60
        let second = ms / 1000 % 60
        let milli = ms % 1000
        var bytes = [UInt8]()
        bytes.reserveCapacity(24)
        append(&bytes, year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        append(&bytes, month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        append(&bytes, day, width: 2)
        bytes.append(UInt8(ascii: "T"))
        append(&bytes, hour, width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(&bytes, minute, width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(&bytes, second, width: 2)
        bytes.append(UInt8(ascii: "."))
        append(&bytes, milli, width: 3)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`; `nil` for anything else.
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    private static func append(_ bytes: inout [UInt8], _ value: Int64, width: Int) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var index = width - 1
        while index >= 0 {
            digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        bytes.append(contentsOf: digits)
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
