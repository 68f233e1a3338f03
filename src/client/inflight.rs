//! The echoes a client may still receive on its current socket, kept to tell late echoes of
//! earlier requests from the echo of the current one (see the module documentation of
//! [`crate::client`]).

/// Most payloads remembered; beyond it (or [`MAX_BYTES`]) the client takes a new socket.
const MAX_ENTRIES: usize = 1024;
/// Most payload bytes remembered.
const MAX_BYTES: usize = 1 << 20;

/// One payload sent: the bytes a reply can show (up to `bufsize`), its full length, and how
/// many of its echoes may still arrive.
#[derive(Debug)]
struct Entry {
    kept: Vec<u8>,
    len: usize,
    count: u32,
}

/// The payloads whose echoes may still arrive.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    entries: Vec<Entry>,
    bytes: usize,
}

impl InFlight {
    /// True when no echo is expected.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets everything (the socket was replaced).
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// True when the table is at its bound: the client then takes a new socket.
    pub(super) fn is_full(&self) -> bool {
        self.entries.len() >= MAX_ENTRIES || self.bytes >= MAX_BYTES
    }

    /// True when an echo still in flight could be taken for the echo of `kept`: a payload in
    /// flight that is `kept` itself or a prefix of it (whose echo looks like a truncated
    /// echo of `kept`).
    pub(super) fn confusable(&self, kept: &[u8]) -> bool {
        self.entries.iter().any(|e| kept.starts_with(&e.kept))
    }

    /// True when a payload in flight other than (`own`, `own_len`) could have `reply` as its
    /// (truncated) echo.
    pub(super) fn other_could_be(&self, reply: &[u8], own: &[u8], own_len: usize) -> bool {
        self.entries
            .iter()
            .any(|e| !(e.kept == own && e.len == own_len) && e.kept.starts_with(reply))
    }

    /// One more try of the payload `kept` (full length `len`) was sent.
    pub(super) fn sent(&mut self, kept: &[u8], len: usize) {
        if let Some(e) = self.find(|e| e.kept == kept && e.len == len) {
            e.count += 1;
            return;
        }
        self.bytes += kept.len();
        self.entries.push(Entry {
            kept: kept.to_vec(),
            len,
            count: 1,
        });
    }

    /// An echo (`reply`, full length `len`) arrived: one echo of `owner` (when known), else of
    /// the payload it is exactly, else of one it is a truncated echo of, is no longer
    /// expected.
    pub(super) fn arrived(&mut self, reply: &[u8], len: usize, owner: Option<(&[u8], usize)>) {
        let i = match owner {
            Some((kept, full)) => self.position(|e| e.kept == kept && e.len == full),
            None => self
                .position(|e| e.kept == reply && e.len == len)
                .or_else(|| self.position(|e| e.len > len && e.kept.starts_with(reply))),
        };
        if let Some(i) = i {
            self.entries[i].count -= 1;
            if self.entries[i].count == 0 {
                let e = self.entries.swap_remove(i);
                self.bytes -= e.kept.len();
            }
        }
    }

    fn position(&self, f: impl Fn(&Entry) -> bool) -> Option<usize> {
        self.entries.iter().position(f)
    }

    fn find(&mut self, f: impl Fn(&Entry) -> bool) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| f(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tries_and_echoes() {
        let mut t = InFlight::default();
        t.sent(b"line 1", 6);
        t.sent(b"line 1", 6);
        assert!(t.confusable(b"line 1") && t.confusable(b"line 10"));
        assert!(!t.confusable(b"line 2") && !t.confusable(b"line"));
        t.arrived(b"line 1", 6, None);
        assert!(!t.is_empty());
        t.arrived(b"line 1", 6, None);
        assert!(t.is_empty() && !t.is_full());
    }

    #[test]
    fn a_truncated_echo_is_ambiguous_only_with_another_payload_that_could_give_it() {
        let mut t = InFlight::default();
        t.sent(b"abcdef", 6);
        // "abc" as a truncated echo of "abcdef" (its own payload): not ambiguous.
        assert!(!t.other_could_be(b"abc", b"abcdef", 6));
        t.sent(b"abcxyz", 6);
        assert!(t.other_could_be(b"abc", b"abcdef", 6));
        t.arrived(b"abc", 3, Some((b"abcdef", 6)));
        t.arrived(b"abc", 3, None);
        assert!(t.is_empty());
    }
}
