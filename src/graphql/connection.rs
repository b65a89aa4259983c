//! Relay connections over the domain's pages.

use async_graphql::OutputType;
use async_graphql::connection::{
    Connection, CursorType, DefaultConnectionName, DefaultEdgeName, Edge, EmptyFields,
    EnableNodesField,
};
use uuid::Uuid;

use crate::work::Page;
use crate::work::page::encode_cursor;

/// A Relay connection with a `nodes` shortcut beside `edges` (one object fewer per item
/// when the cursors are not needed).
pub(crate) type Conn<N> = Connection<
    IdCursor,
    N,
    EmptyFields,
    EmptyFields,
    DefaultConnectionName,
    DefaultEdgeName,
    EnableNodesField,
>;

/// A row's cursor, encoded only when a client asks for it.
pub(crate) struct IdCursor(Uuid);

impl CursorType for IdCursor {
    type Error = String;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        crate::work::page::decode_cursor(s)
            .map(Self)
            .map_err(|_| "invalid cursor".to_owned())
    }

    fn encode_cursor(&self) -> String {
        encode_cursor(self.0)
    }
}

/// Builds a Relay connection from a page.
pub(crate) fn connection<T, N: OutputType>(
    page: Page<T>,
    has_previous: bool,
    id: impl Fn(&T) -> Uuid,
    wrap: impl Fn(T) -> N,
) -> Conn<N> {
    let mut conn = Connection::new(has_previous, page.has_next);
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(IdCursor(id(&item)), wrap(item))),
    );
    conn
}
