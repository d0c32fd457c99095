//! How one state value is stored: a 13-byte header, then the JSON.
//!
//! | bytes | field |
//! |---|---|
//! | 0 | kind: `1` value, `2` tombstone (a deleted key) |
//! | 1..9 | version, `u64` big-endian |
//! | 9..13 | schema version, `u32` big-endian (0: none declared) |
//! | 13.. | the value as JSON (empty for a tombstone) |
//!
//! A binary header keeps the hot path cheap: the version and schema are
//! read without parsing JSON, and a write builds the record in one buffer.
//! A deleted key keeps a tombstone carrying its last version, so a later
//! write continues from it and a compare-and-set that saw the old value can
//! never succeed against a re-created key (no ABA).

const VALUE: u8 = 1;
const TOMBSTONE: u8 = 2;
pub(crate) const HEADER: usize = 13;

/// A decoded record borrowing the stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub(crate) version: u64,
    pub(crate) schema: u32,
    /// The JSON of the value; `None` for a tombstone.
    pub(crate) json: Option<&'a [u8]>,
}

impl<'a> Record<'a> {
    /// Decodes `bytes`, or says what is wrong with them.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, String> {
        if bytes.len() < HEADER {
            return Err(format!(
                "record of {} bytes is shorter than its {HEADER}-byte header",
                bytes.len()
            ));
        }
        let (head, json) = bytes.split_at(HEADER);
        let version = u64::from_be_bytes(head[1..9].try_into().map_err(|_| "bad version")?);
        let schema = u32::from_be_bytes(head[9..13].try_into().map_err(|_| "bad schema")?);
        match head[0] {
            VALUE => Ok(Self {
                version,
                schema,
                json: Some(json),
            }),
            TOMBSTONE => Ok(Self {
                version,
                schema,
                json: None,
            }),
            kind => Err(format!("unknown record kind {kind}")),
        }
    }

    /// The version a caller sees: a tombstone's is 0, as for a key never
    /// written.
    pub(crate) fn visible_version(&self) -> u64 {
        if self.json.is_some() {
            self.version
        } else {
            0
        }
    }
}

/// A value record: header, then `json`.
pub(crate) fn encode_value(version: u64, schema: u32, json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + json.len());
    out.push(VALUE);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&schema.to_be_bytes());
    out.extend_from_slice(json);
    out
}

/// A tombstone at `version`.
pub(crate) fn encode_tombstone(version: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER);
    out.push(TOMBSTONE);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_and_tombstone_round_trip() {
        let bytes = encode_value(7, 3, br#"{"a":1}"#);
        let rec = Record::decode(&bytes).unwrap();
        assert_eq!(
            rec,
            Record {
                version: 7,
                schema: 3,
                json: Some(br#"{"a":1}"#)
            }
        );
        assert_eq!(rec.visible_version(), 7);
        let bytes = encode_tombstone(9);
        let rec = Record::decode(&bytes).unwrap();
        assert_eq!(rec.version, 9);
        assert_eq!(rec.json, None);
        assert_eq!(rec.visible_version(), 0);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Record::decode(b"").is_err());
        assert!(Record::decode(&[1; 5]).is_err());
        let mut bad = encode_value(1, 0, b"1");
        bad[0] = 9;
        assert!(Record::decode(&bad)
            .unwrap_err()
            .contains("unknown record kind 9"));
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Record::decode(&bytes);
        }

        #[test]
        fn values_round_trip(version: u64, schema: u32, json in proptest::collection::vec(proptest::num::u8::ANY, 0..32)) {
            let bytes = encode_value(version, schema, &json);
            let rec = Record::decode(&bytes).unwrap();
            proptest::prop_assert_eq!((rec.version, rec.schema, rec.json), (version, schema, Some(&json[..])));
        }
    }
}
