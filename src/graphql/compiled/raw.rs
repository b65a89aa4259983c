//! Compiled answers written as JSON once, straight into the response body.
//!
//! async-graphql's values cannot carry JSON text, so a compiled answer that is written
//! ahead ([`super::shape::write_object`] and its siblings) stands in the executor's answer as
//! a placeholder string, and [`RawAnswers::splice`] puts the written JSON in its place in
//! the serialized response. The placeholder names a random nonce drawn per request: no
//! value of the data (a record's title, say) can spell one, because nobody outside the
//! request ever sees it — every placeholder is replaced before the body leaves.
//!
//! Only the HTTP endpoint that serializes the response itself provides the slot; every
//! other executor (live queries over WebSocket) gets the answer as values, as before.

use std::sync::Mutex;

use async_graphql::Value;
use rand::RngCore;

/// The written answers of one request and the nonce of their placeholders.
pub(crate) struct RawAnswers {
    /// `"tessera-compiled-<nonce>-`: a placeholder as it appears in the serialized
    /// response, less its number and closing quote.
    prefix: String,
    parts: Mutex<Vec<Vec<u8>>>,
}

impl Default for RawAnswers {
    fn default() -> Self {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        Self {
            prefix: format!("\"tessera-compiled-{}-", hex::encode(nonce)),
            parts: Mutex::default(),
        }
    }
}

impl RawAnswers {
    /// Keeps `json` (one field's whole answer) and returns the placeholder that stands for it.
    pub(crate) fn hold(&self, json: Vec<u8>) -> Option<Value> {
        let mut parts = self.parts.lock().ok()?;
        parts.push(json);
        // The prefix without its opening quote: serialized, the string gets it back.
        Some(Value::String(format!(
            "{}{}",
            &self.prefix[1..],
            parts.len() - 1
        )))
    }

    /// The serialized response `body` with each placeholder replaced by its answer. A
    /// placeholder is a JSON string of letters, digits and dashes, written by the serializer
    /// exactly as [`hold`](Self::hold) made it.
    pub(crate) fn splice(&self, body: Vec<u8>) -> Vec<u8> {
        let Ok(parts) = self.parts.lock() else {
            return body;
        };
        if parts.is_empty() {
            return body;
        }
        let prefix = self.prefix.as_bytes();
        let mut out = Vec::with_capacity(body.len() + parts.iter().map(Vec::len).sum::<usize>());
        let mut copied = 0;
        for start in memchr::memmem::find_iter(&body, prefix) {
            let digits = start + prefix.len();
            let len = body[digits..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let end = digits + len;
            let part = std::str::from_utf8(&body[digits..end])
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| parts.get(n));
            let (Some(part), Some(b'"')) = (part, body.get(end)) else {
                continue;
            };
            out.extend_from_slice(&body[copied..start]);
            out.extend_from_slice(part);
            copied = end + 1;
        }
        out.extend_from_slice(&body[copied..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialized(v: &Value) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn placeholders_are_replaced_and_nothing_else() {
        let raw = RawAnswers::default();
        let a = raw.hold(br#"{"id":"a","n":[1,2]}"#.to_vec()).unwrap();
        let b = raw.hold(b"[]".to_vec()).unwrap();
        // What a stored value could hold: a placeholder of another nonce, and this one's
        // prefix without a number or with one it never handed out.
        let forged = "tessera-compiled-00000000000000000000000000000000-0";
        let Value::String(real) = &a else {
            panic!("{a:?}")
        };
        let prefix = real.trim_end_matches(char::is_numeric);
        let body = format!(
            r#"{{"data":{{"x":{},"y":{},"t":"{forged}","u":"{prefix}","v":"{prefix}9"}}}}"#,
            serialized(&a),
            serialized(&b),
        );
        let out = String::from_utf8(raw.splice(body.into_bytes())).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({ "data": {
                "x": { "id": "a", "n": [1, 2] },
                "y": [],
                "t": forged,
                "u": prefix,
                "v": format!("{prefix}9"),
            }})
        );
    }

    #[test]
    fn each_request_draws_its_own_nonce() {
        let (a, b) = (RawAnswers::default(), RawAnswers::default());
        assert_ne!(a.prefix, b.prefix);
        a.hold(b"2".to_vec()).unwrap();
        let body = serialized(&b.hold(b"1".to_vec()).unwrap());
        assert_eq!(a.splice(body.clone().into_bytes()), body.as_bytes());
    }
}
