//! How datagrams become text: the práctica's `strip()`, and UTF-8 with Python's
//! `backslashreplace` for bytes that are not UTF-8.

use std::net::SocketAddr;

/// Python's `bytes.strip()` whitespace: space, `\t`, `\n`, `\r`, `\x0b`, `\x0c`.
#[inline]
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `data.strip()` as Python does it on bytes.
#[must_use]
pub fn strip(data: &[u8]) -> &[u8] {
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
pub fn chomp(data: &[u8]) -> &[u8] {
    let d = data.strip_suffix(b"\n").unwrap_or(data);
    d.strip_suffix(b"\r").unwrap_or(d)
}

/// Appends `data` decoded as UTF-8 to `out`, each byte that is not part of valid UTF-8
/// written as `\xNN` (Python's `errors="backslashreplace"`). With `one_line`, `\n` and `\r`
/// are also written as the two characters `\n` and `\r`, so one datagram is one line.
pub fn push_text(out: &mut Vec<u8>, data: &[u8], one_line: bool) {
    for chunk in data.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        if one_line && valid.iter().any(|&b| b == b'\n' || b == b'\r') {
            for &b in valid {
                match b {
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        } else {
            out.extend_from_slice(valid);
        }
        for &b in chunk.invalid() {
            out.extend_from_slice(&[b'\\', b'x', hex(b >> 4), hex(b & 0xf)]);
        }
    }
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
pub fn push_message_line(out: &mut Vec<u8>, from: Option<SocketAddr>, data: &[u8]) {
    use std::io::Write;
    match from {
        Some(a) => {
            let _ = write!(out, "Message[{}:{}] - ", a.ip(), a.port());
        }
        None => out.extend_from_slice(b"Message[?] - "),
    }
    push_text(out, strip(data), false);
    out.push(b'\n');
}

/// Appends the log line of one datagram: its text without the line terminator, on one line.
pub fn push_log_line(out: &mut Vec<u8>, data: &[u8]) {
    push_text(out, chomp(data), true);
    out.push(b'\n');
}

/// The v3 server's message after `secs` seconds of silence (with the práctica's extra
/// blank line, as its `print "...\n"` gives).
#[must_use]
pub fn silence_message(secs: f64) -> String {
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
    fn backslashreplace_and_one_line() {
        let mut out = Vec::new();
        push_text(&mut out, "ñ\u{20ac}".as_bytes(), true);
        push_text(&mut out, b"a\xffb\xc3", true);
        push_text(&mut out, b"x\ny\rz", true);
        assert_eq!(out, "ñ€a\\xffb\\xc3x\\ny\\rz".as_bytes());
        let mut out = Vec::new();
        push_log_line(&mut out, b"hola\n");
        push_message_line(&mut out, Some("[::1]:5".parse().unwrap()), b" hi\n");
        push_message_line(&mut out, Some("127.0.0.1:7".parse().unwrap()), b"\xfe");
        assert_eq!(
            out,
            b"hola\nMessage[::1:5] - hi\nMessage[127.0.0.1:7] - \\xfe\n"
        );
        assert_eq!(
            silence_message(5.0),
            "Han pasado 5 seg sin recibir nada por ningun socket.\n\n"
        );
        assert!(silence_message(0.3).starts_with("Han pasado 0.3 seg"));
    }
}
