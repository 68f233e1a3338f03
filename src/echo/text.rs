//! How datagrams become text: the práctica's `strip()`, and the one escaping rule
//! ([`push_escaped`]) that keeps what a sender chose from reaching a terminal or a log raw.

use std::net::SocketAddr;

/// Python's `bytes.strip()` whitespace: space, `\t`, `\n`, `\r`, `\x0b`, `\x0c`.
#[inline]
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `data.strip()` as Python does it on bytes.
#[must_use]
pub(crate) fn strip(data: &[u8]) -> &[u8] {
    let start = data
        .iter()
        .position(|&b| !is_py_space(b))
        .unwrap_or(data.len());
    let end = data
        .iter()
        .rposition(|&b| !is_py_space(b))
        .map_or(start, |e| e + 1);
    &data[start..end]
}

/// The datagram without its line terminator (one trailing `\n` or `\r\n`, as netcat adds).
#[must_use]
pub(crate) fn chomp(data: &[u8]) -> &[u8] {
    let d = data.strip_suffix(b"\n").unwrap_or(data);
    d.strip_suffix(b"\r").unwrap_or(d)
}

/// Appends `data` as one line of text that nothing a sender chose can break out of: the
/// escaping rule of every place where udpeco shows received bytes (serve's lines, the log,
/// `udpeco client`, the lab programs' `texto`).
///
/// - printable UTF-8 (any language) is kept as it is;
/// - `\\` becomes `\\\\`, and `\n`, `\r`, `\t` the two characters `\n`, `\r`, `\t`;
/// - every other byte of a control character (C0 `\x00`-`\x1f` with NUL and ESC, DEL `\x7f`,
///   the C1 controls U+0080-U+009F, the line and paragraph separators U+2028/U+2029 and the
///   bidirectional overrides U+202A-U+202E, U+2066-U+2069) and every byte that is not part of
///   valid UTF-8 is written as `\xNN` (lowercase hex).
///
/// The result never contains a raw control character, so a datagram is exactly one line and
/// the rule is reversible (a `\\` in the output is always the start of an escape).
pub(crate) fn push_escaped(out: &mut Vec<u8>, data: &[u8]) {
    for chunk in data.utf8_chunks() {
        let valid = chunk.valid();
        if valid.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            if valid.contains('\\') {
                for b in valid.bytes() {
                    if b == b'\\' {
                        out.extend_from_slice(b"\\\\");
                    } else {
                        out.push(b);
                    }
                }
            } else {
                out.extend_from_slice(valid.as_bytes());
            }
        } else {
            for c in valid.chars() {
                push_char(out, c);
            }
        }
        for &b in chunk.invalid() {
            push_hex(out, b);
        }
    }
}

/// One character of valid UTF-8, escaped as [`push_escaped`] says.
fn push_char(out: &mut Vec<u8>, c: char) {
    match c {
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c if is_unsafe(c) => {
            let mut buf = [0u8; 4];
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                push_hex(out, b);
            }
        }
        c => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

/// Characters a terminal or a line-oriented reader may act on.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `\xNN` for one byte.
fn push_hex(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[b'\\', b'x', hex(b >> 4), hex(b & 0xf)]);
}

/// [`push_escaped`] into a new `String`.
#[must_use]
pub(crate) fn escape(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(data.len() + 8);
    push_escaped(&mut out, data);
    // Only ASCII escapes and valid UTF-8 were written.
    String::from_utf8(out).unwrap_or_default()
}

/// One lowercase hex digit (Python writes `\xff`).
fn hex(n: u8) -> u8 {
    if n < 10 {
        b'0' + n
    } else {
        b'a' + n - 10
    }
}

/// Appends the práctica v1's line `Message[ip:port] - data` (data stripped) and a newline.
pub(crate) fn push_message_line(out: &mut Vec<u8>, from: Option<SocketAddr>, data: &[u8]) {
    use std::io::Write;
    match from {
        Some(a) => {
            let _ = write!(out, "Message[{}:{}] - ", a.ip(), a.port());
        }
        None => out.extend_from_slice(b"Message[?] - "),
    }
    push_escaped(out, strip(data));
    out.push(b'\n');
}

/// Appends the log line of one datagram: its text without the line terminator, on one line.
pub(crate) fn push_log_line(out: &mut Vec<u8>, data: &[u8]) {
    push_escaped(out, chomp(data));
    out.push(b'\n');
}

/// The v3 server's message after `secs` seconds of silence (with the práctica's extra
/// blank line, as its `print "...\n"` gives).
#[must_use]
pub(crate) fn silence_message(secs: f64) -> String {
    format!("Han pasado {secs} seg sin recibir nada por ningun socket.\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_matches_python() {
        assert_eq!(strip(b" .\r\n"), b".");
        assert_eq!(strip(b"\x0b\x0c\t"), b"");
        assert_eq!(strip(b""), b"");
        assert_eq!(strip(b"a b"), b"a b");
        assert_eq!(chomp(b"hola\r\n"), b"hola");
        assert_eq!(chomp(b" hola \n\n"), b" hola \n");
    }

    #[test]
    fn escaping_keeps_text_and_makes_one_line() {
        let mut out = Vec::new();
        push_escaped(&mut out, "ñ\u{20ac} ok".as_bytes());
        push_escaped(&mut out, b"a\xffb\xc3");
        push_escaped(&mut out, b"x\ny\rz\tw\\v");
        push_escaped(&mut out, b"\x1b[2J\x07\x00\x7f");
        push_escaped(&mut out, "\u{9b}\u{202e}".as_bytes());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ñ€ oka\\xffb\\xc3x\\ny\\rz\\tw\\\\v\\x1b[2J\\x07\\x00\\x7f\\xc2\\x9b\\xe2\\x80\\xae"
        );
        assert_eq!(escape(b"plain"), "plain");
        assert_eq!(escape(b"a\\b"), "a\\\\b");
        let mut out = Vec::new();
        push_log_line(&mut out, b"hola\n");
        push_message_line(&mut out, Some("[::1]:5".parse().unwrap()), b" hi\n");
        push_message_line(&mut out, Some("127.0.0.1:7".parse().unwrap()), b"\xfe");
        push_message_line(
            &mut out,
            Some("127.0.0.1:7".parse().unwrap()),
            b"x\nMessage[6.6.6.6:66] - forged",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "hola\nMessage[::1:5] - hi\nMessage[127.0.0.1:7] - \\xfe\n\
             Message[127.0.0.1:7] - x\\nMessage[6.6.6.6:66] - forged\n"
        );
        assert_eq!(
            silence_message(5.0),
            "Han pasado 5 seg sin recibir nada por ningun socket.\n\n"
        );
        assert!(silence_message(0.3).starts_with("Han pasado 0.3 seg"));
    }

    #[test]
    fn escaping_is_reversible_for_every_byte() {
        for b in 0..=255u8 {
            let s = escape(&[b, b'z']);
            assert!(!s.bytes().any(|c| c < 0x20 || c == 0x7f), "{b:#x}: {s:?}");
            assert!(s.ends_with('z'));
        }
    }
}
