extension String {
    /// How many times `text` occurs (an event stream's text grows: a second `online` is a new one).
    func occurrences(of text: String) -> Int {
        components(separatedBy: text).count - 1
    }
}
