//! Port specifications as users type them: `44444`, `20000-20100`, `7,9,20000-20100`.
//!
//! Used by `udpeco serve --port` and `udpeco scan`. The result keeps the user's order and
//! drops repeated ports; every mistake is a one-line [`Error::Value`].

use crate::error::{Error, Result};

/// Parses one port number (0-65535 when `allow_zero`, else 1-65535).
fn parse_port(text: &str, spec: &str, allow_zero: bool) -> Result<u16> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::Value(format!(
            "invalid port specification {spec:?}: empty port"
        )));
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Value(format!(
            "invalid port specification {spec:?}: {t:?} is not a number"
        )));
    }
    let low = u16::from(!allow_zero);
    match t.parse::<u32>() {
        Ok(n) if n >= u32::from(low) && n <= 65535 => Ok(u16::try_from(n).unwrap_or(u16::MAX)),
        _ => Err(Error::Value(format!(
            "invalid port specification {spec:?}: port {t} is out of range {low}-65535"
        ))),
    }
}

/// Parses a comma-separated list of ports and inclusive ranges.
///
/// `allow_zero` admits port 0 (let the system pick), meaningful for binding only.
///
/// # Errors
/// [`Error::Value`] for an empty specification, a part that is not a number, a port out of
/// range, or a reversed range such as `20100-20000`.
pub(crate) fn parse_ports(spec: &str, allow_zero: bool) -> Result<Vec<u16>> {
    if spec.trim().is_empty() {
        return Err(Error::Value(
            "invalid port specification \"\": no ports given".into(),
        ));
    }
    let mut seen = vec![false; 65536];
    let mut ports = Vec::new();
    for part in spec.split(',') {
        if let Some(neg) = part.trim().strip_prefix('-') {
            return Err(Error::Value(format!(
                "invalid port specification {spec:?}: port -{} is out of range {}-65535",
                neg.trim(),
                u8::from(!allow_zero)
            )));
        }
        let (first, last) = if let Some((a, b)) = part.split_once('-') {
            (
                parse_port(a, spec, allow_zero)?,
                parse_port(b, spec, allow_zero)?,
            )
        } else {
            let p = parse_port(part, spec, allow_zero)?;
            (p, p)
        };
        if first > last {
            return Err(Error::Value(format!(
                "invalid port specification {spec:?}: range {first}-{last} is reversed"
            )));
        }
        for p in first..=last {
            if !seen[usize::from(p)] {
                seen[usize::from(p)] = true;
                ports.push(p);
            }
        }
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_and_lists() {
        assert_eq!(parse_ports("44444", false).unwrap(), vec![44444]);
        assert_eq!(
            parse_ports("20000-20002", false).unwrap(),
            vec![20000, 20001, 20002]
        );
        assert_eq!(
            parse_ports("7, 9,20000-20001,9", false).unwrap(),
            vec![7, 9, 20000, 20001]
        );
        assert_eq!(parse_ports("1-65535", false).unwrap().len(), 65535);
        assert_eq!(parse_ports("0", true).unwrap(), vec![0]);
    }

    #[test]
    fn mistakes_are_one_line_errors() {
        for bad in [
            "",
            " ",
            "20100-20000",
            "0",
            "70000",
            "abc",
            "1-",
            "-5",
            "1,,2",
            "1-2-3",
            "+5",
        ] {
            let err = parse_ports(bad, false).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Value(_)), "{bad:?}");
            assert!(
                !text.contains('\n') && text.starts_with("invalid port specification"),
                "{text}"
            );
        }
        let text = parse_ports("-1", true).unwrap_err().to_string();
        assert!(text.ends_with("port -1 is out of range 0-65535"), "{text}");
    }
}
