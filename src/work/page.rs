//! Keyset pagination. Ids are UUIDv7 (time-ordered), so `ORDER BY id` is creation order
//! and the cursor is just the last id, opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::WorkError;

/// Validated page arguments: `first` within the configured cap.
#[derive(Debug, Clone, Copy)]
pub struct PageArgs {
    pub first: i32,
    pub after: Option<Uuid>,
}

impl PageArgs {
    pub fn parse(
        first: Option<i32>,
        after: Option<&str>,
        default: i32,
        max: i32,
    ) -> Result<Self, WorkError> {
        let first = first.unwrap_or(default);
        if !(1..=max).contains(&first) {
            return Err(WorkError::Invalid(format!(
                "first must be between 1 and {max}"
            )));
        }
        let after = after.map(decode_cursor).transpose()?;
        Ok(Self { first, after })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn limit(&self) -> i64 {
        i64::from(self.first) + 1
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{id}"))
}

pub fn decode_cursor(cursor: &str) -> Result<Uuid, WorkError> {
    let bad = || WorkError::Invalid("invalid cursor".into());
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = std::str::from_utf8(&raw).map_err(|_| bad())?;
    text.strip_prefix("c1:")
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(bad)
}

/// One page of rows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    pub fn from_rows(mut rows: Vec<T>, args: &PageArgs) -> Self {
        let page = usize::try_from(args.first).unwrap_or(0);
        let has_next = rows.len() > page;
        rows.truncate(page);
        Self {
            items: rows,
            has_next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let id = Uuid::now_v7();
        let args = PageArgs::parse(Some(5), Some(&encode_cursor(id)), 20, 100);
        assert_eq!(args.ok().and_then(|a| a.after), Some(id));
        for bad in ["", "!!!", "YWJj", &URL_SAFE_NO_PAD.encode("c1:nope")] {
            assert!(PageArgs::parse(None, Some(bad), 20, 100).is_err(), "{bad}");
        }
        assert!(PageArgs::parse(Some(0), None, 20, 100).is_err());
        assert!(PageArgs::parse(Some(101), None, 20, 100).is_err());
        assert!(PageArgs::parse(Some(-1), None, 20, 100).is_err());
    }
}
