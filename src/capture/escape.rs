//! Showing a payload a sender controls without letting it reach the terminal raw.
//!
//! [`escape`] follows udpeco's one escaping rule for received bytes: printable UTF-8 (any
//! language) is kept; `\\` becomes `\\\\` and `\n`, `\r`, `\t` the two characters `\n`,
//! `\r`, `\t`; every other byte of a control character (C0, DEL, C1, the line and paragraph
//! separators, the bidirectional overrides and isolates) and every byte that is not valid
//! UTF-8 is written as `\xNN`. The result is one line without any control character, and
//! [`unescape`] gives the exact bytes back.

use std::fmt::Write as _;

/// Characters a terminal or a line-oriented reader may act on.
fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_bytes(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "\\x{b:02x}");
    }
}

/// The payload as safe, printable text: see the module documentation.
#[must_use]
pub fn escape(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if must_escape(c) => {
                    let mut buf = [0u8; 4];
                    push_bytes(&mut out, c.encode_utf8(&mut buf).as_bytes());
                }
                c => out.push(c),
            }
        }
        push_bytes(&mut out, chunk.invalid());
    }
    out
}

/// The bytes [`escape`] was given, from its output; `None` for text it cannot have produced.
#[must_use]
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let tail = &rest[i + 1..];
        let (byte, used) = match tail.as_bytes().first()? {
            b'\\' => (b'\\', 1),
            b'n' => (b'\n', 1),
            b'r' => (b'\r', 1),
            b't' => (b'\t', 1),
            b'x' => (u8::from_str_radix(tail.get(1..3)?, 16).ok()?, 3),
            _ => return None,
        };
        out.push(byte);
        rest = &tail[used..];
    }
    out.extend_from_slice(rest.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_stays_as_is() {
        assert_eq!(escape(b"hola mundo"), "hola mundo");
        assert_eq!(escape("señal ñandú 😀".as_bytes()), "señal ñandú 😀");
        assert_eq!(escape(b""), "");
    }

    #[test]
    fn controls_and_invalid_utf8_are_escaped() {
        assert_eq!(
            escape(b"a\nb\r\t\x1b[2J\x00\x7f"),
            "a\\nb\\r\\t\\x1b[2J\\x00\\x7f"
        );
        assert_eq!(escape(b"\xff\xfe ok \xc3"), "\\xff\\xfe ok \\xc3");
        assert_eq!(escape(b"back\\slash"), "back\\\\slash");
        // C1 control (NEL) and a right-to-left override, as their UTF-8 bytes.
        assert_eq!(escape("x\u{85}y".as_bytes()), "x\\xc2\\x85y");
        assert_eq!(escape("\u{202e}abc".as_bytes()), "\\xe2\\x80\\xaeabc");
    }

    #[test]
    fn escaped_text_has_no_control_characters_and_round_trips() {
        let all: Vec<u8> = (0..=255u8).chain("\u{2028}\u{2067}é\\x".bytes()).collect();
        let text = escape(&all);
        assert!(text.chars().all(|c| !must_escape(c)), "{text}");
        assert_eq!(unescape(&text).unwrap(), all);
        assert_eq!(unescape("\\q"), None);
        assert_eq!(unescape("\\x4"), None);
    }
}
