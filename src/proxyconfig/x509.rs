//! Just enough DER to read what the secret table shows from a PEM certificate: serial number,
//! validity and whether it is a CA. We need no verification, so no X.509 crate for this.

/// What istioctl shows of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Lower-case hex of the serial's minimal big-endian bytes.
    pub serial: String,
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
}

/// The first certificate of a PEM bundle.
pub fn first_pem_certificate(pem: &str) -> Option<CertInfo> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem.find(begin)? + begin.len();
    let end = start + pem[start..].find("-----END CERTIFICATE-----")?;
    let der = base64(&pem[start..end])?;
    parse(&der)
}

/// Standard base64 with whitespace ignored.
pub fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// One DER element: (tag, contents, rest).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn parse(der: &[u8]) -> Option<CertInfo> {
    let (_, cert, _) = element(der)?;
    let (_, tbs, _) = element(cert)?;
    let (mut tag, mut body, mut rest) = element(tbs)?;
    if tag == 0xa0 {
        // [0] version
        (tag, body, rest) = element(rest)?;
    }
    if tag != 0x02 {
        return None;
    }
    let serial = hex_trimmed(body);
    let (_, _, rest) = element(rest)?; // signature algorithm
    let (_, _, rest) = element(rest)?; // issuer
    let (_, validity, rest) = element(rest)?;
    let (t1, nb, vrest) = element(validity)?;
    let (t2, na, _) = element(vrest)?;
    let (_, _, rest) = element(rest)?; // subject
    let (_, _, mut rest) = element(rest)?; // subject public key info
    let mut is_ca = false;
    while let Some((tag, body, next)) = element(rest) {
        if tag == 0xa3 {
            is_ca = basic_constraints_ca(body).unwrap_or(false);
        }
        rest = next;
    }
    Some(CertInfo {
        serial,
        not_before: time(t1, nb)?,
        not_after: time(t2, na)?,
        is_ca,
    })
}

/// The `cA` flag of the basicConstraints extension (OID 2.5.29.19) in `[3] Extensions`.
fn basic_constraints_ca(explicit: &[u8]) -> Option<bool> {
    let (_, mut exts, _) = element(explicit)?;
    while let Some((_, ext, next)) = element(exts) {
        let (_, oid, mut r) = element(ext)?;
        if oid == [0x55, 0x1d, 0x13] {
            let (mut tag, mut body, r2) = element(r)?;
            if tag == 0x01 {
                // critical flag
                (tag, body, _) = element(r2)?;
            }
            if tag != 0x04 {
                return None;
            }
            let (_, seq, _) = element(body)?;
            r = seq;
            return Some(matches!(element(r), Some((0x01, [b], _)) if *b != 0));
        }
        exts = next;
    }
    None
}

/// The serial's big-endian bytes without leading zero bytes, in hex (Go's `%x` of
/// `SerialNumber.Bytes()`, so a leading zero nibble stays).
fn hex_trimmed(bytes: &[u8]) -> String {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[first..].iter().map(|b| format!("{b:02x}")).collect()
}

/// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as Unix seconds.
fn time(tag: u8, body: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(body).ok()?;
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = s.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| -> Option<i64> { rest.get(r)?.parse().ok() };
    let (mo, d, h, mi, se) = (num(0..2)?, num(2..4)?, num(4..6)?, num(6..8)?, num(8..10)?);
    Some(days_from_civil(year, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as RFC 3339 in UTC (`2023-05-16T01:32:52Z`), as Go's `time.RFC3339`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        let t = time(0x17, b"230516013252Z").unwrap();
        assert_eq!(rfc3339(t), "2023-05-16T01:32:52Z");
        let g = time(0x18, b"20330502034133Z").unwrap();
        assert_eq!(rfc3339(g), "2033-05-02T03:41:33Z");
    }

    #[test]
    fn base64_ignores_line_breaks() {
        assert_eq!(base64("aGVs\nbG8=").unwrap(), b"hello");
    }
}
