//! Showing a payload a sender controls without letting it reach the terminal raw.
//!
//! [`escape`] keeps printable text (valid UTF-8) and writes everything else as `\xNN`, one
//! escape per byte: control bytes (C0, DEL), C1 controls, invalid UTF-8, and the Unicode
//! format characters that reorder or hide text on a terminal (bidirectional overrides and
//! isolates, line and paragraph separators). A backslash becomes `\\`, so the escaped text is
//! unambiguous and [`unescape`] gives the exact bytes back.

use std::fmt::Write as _;

/// True for characters written as escapes even though they are valid UTF-8.
fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2028}' | '\u{2029}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
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
            if c == '\\' {
                out.push_str("\\\\");
            } else if must_escape(c) {
                let mut buf = [0u8; 4];
                push_bytes(&mut out, c.encode_utf8(&mut buf).as_bytes());
            } else {
                out.push(c);
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
        if let Some(after) = tail.strip_prefix('\\') {
            out.push(b'\\');
            rest = after;
        } else {
            let hex = tail.strip_prefix('x')?.get(..2)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[3..];
        }
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
            escape(b"a\nb\r\x1b[2J\x00\x7f"),
            "a\\x0ab\\x0d\\x1b[2J\\x00\\x7f"
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
