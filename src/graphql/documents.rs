//! Parsed documents, remembered by their text.
//!
//! Parsing is a fifth of a small query's cost in the server (async-graphql's parser is a
//! PEG parser that walks the text rule by rule). Clients send the same few operation texts
//! again and again, with different variables, so each text is parsed once and its document
//! cloned for every later request. Only the parse is skipped: validation, the depth,
//! complexity and alias limits, and the guard's check still run on every request, since
//! complexity depends on the variables.
//!
//! Bounded twice: by entries (`limits.document_cache_entries`, oldest out first) and by the
//! length of the texts it accepts ([`MAX_CACHED_TEXT`]), so a flood of distinct large
//! queries costs a parse each and at most `entries × MAX_CACHED_TEXT` bytes of text. Like
//! the persisted-query cache it is filled before authentication: an anonymous client can
//! evict entries, which costs others a parse, and cannot change what any text parses to.

use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

use super::cache::Fifo;

/// Longest query text remembered, in bytes; longer ones are parsed on every request.
pub const MAX_CACHED_TEXT: usize = 4096;

pub struct Documents {
    inner: Mutex<Fifo<Arc<str>, Arc<ExecutableDocument>>>,
}

impl Documents {
    /// `capacity` 0 remembers nothing.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Fifo::new(capacity)),
        }
    }

    /// The document of `query`: a clone of the remembered one, or a fresh parse that is then
    /// remembered (when short enough).
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, async_graphql::parser::Error> {
        if let Some(doc) = self.lock().get(query) {
            return Ok(ExecutableDocument::clone(&doc));
        }
        let doc = async_graphql::parser::parse_query(query)?;
        if query.len() <= MAX_CACHED_TEXT {
            self.lock().insert(Arc::from(query), Arc::new(doc.clone()));
        }
        Ok(doc)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Fifo<Arc<str>, Arc<ExecutableDocument>>> {
        // The map is consistent after every call, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_parses_once_and_bad_texts_are_not_remembered() {
        let docs = Documents::new(2);
        let a = docs.parse("{ a }").unwrap();
        let again = docs.parse("{ a }").unwrap();
        assert_eq!(format!("{a:?}"), format!("{again:?}"));
        assert!(docs.parse("{ a ").is_err());
        assert!(docs.parse("{ a ").is_err(), "a parse error is never cached");
        assert_eq!(docs.lock().len(), 1);
        let long = format!("{{ {} }}", "a ".repeat(MAX_CACHED_TEXT));
        docs.parse(&long).unwrap();
        assert_eq!(
            docs.lock().len(),
            1,
            "long texts are parsed, not remembered"
        );
        docs.parse("{ b }").unwrap();
        docs.parse("{ c }").unwrap();
        assert!(docs.lock().get("{ a }").is_none(), "oldest out first");
        assert!(Documents::new(0).parse("{ a }").is_ok());
    }
}
