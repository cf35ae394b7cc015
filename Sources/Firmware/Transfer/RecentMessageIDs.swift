/// The last few message IDs seen, oldest forgotten first: enough to recognise a retransmitted
/// CON (or to match an RST to a chunk recently sent) without growing.
struct RecentMessageIDs: Hashable, Sendable {
    private var ids: [UInt16] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { self.ids.count }

    func contains(_ id: UInt16) -> Bool {
        self.ids.contains(id)
    }

    mutating func insert(_ id: UInt16) {
        if self.ids.count < self.capacity {
            self.ids.append(id)
        } else {
            self.ids[self.next] = id
            self.next = (self.next + 1) % self.capacity
        }
    }

    mutating func removeAll() {
        self.ids.removeAll()
        self.next = 0
    }
}
