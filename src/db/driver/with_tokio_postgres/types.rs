//! Bound values: each Rust type declares its PostgreSQL type, as sqlx's binding does, and
//! is encoded (binary) when bound.

use bytes::BytesMut;
use chrono::{DateTime, NaiveDate, Utc};
use postgres_types::{IsNull, ToSql, Type};
use uuid::Uuid;

use super::error::BindError;

/// A value a statement can bind: it encodes itself as its own PostgreSQL type.
pub trait Bind: Send {
    /// The parameter's type, declared when the statement is prepared.
    fn pg_type() -> Type
    where
        Self: Sized;
    /// Appends the value's binary encoding to `out`; `IsNull::Yes` for NULL.
    fn encode(&self, out: &mut BytesMut) -> Result<IsNull, BindError>;
}

macro_rules! natural {
    ($($t:ty => $pg:expr),* $(,)?) => {$(
        impl Bind for $t {
            fn pg_type() -> Type {
                $pg
            }
            fn encode(&self, out: &mut BytesMut) -> Result<IsNull, BindError> {
                ToSql::to_sql(self, &$pg, out)
            }
        }
    )*};
}

natural! {
    bool => Type::BOOL,
    i16 => Type::INT2,
    i32 => Type::INT4,
    i64 => Type::INT8,
    f32 => Type::FLOAT4,
    f64 => Type::FLOAT8,
    String => Type::TEXT,
    Vec<u8> => Type::BYTEA,
    Uuid => Type::UUID,
    DateTime<Utc> => Type::TIMESTAMPTZ,
    NaiveDate => Type::DATE,
    serde_json::Value => Type::JSONB,
    Vec<String> => Type::TEXT_ARRAY,
    Vec<Uuid> => Type::UUID_ARRAY,
    Vec<i64> => Type::INT8_ARRAY,
    Vec<i32> => Type::INT4_ARRAY,
    Vec<Vec<u8>> => Type::BYTEA_ARRAY,
    Vec<&str> => Type::TEXT_ARRAY,
    &str => Type::TEXT,
    &[u8] => Type::BYTEA,
    &[String] => Type::TEXT_ARRAY,
    &[Uuid] => Type::UUID_ARRAY,
    &[&str] => Type::TEXT_ARRAY,
}

impl<T: serde::Serialize + std::fmt::Debug + Send + Sync> Bind for postgres_types::Json<T> {
    fn pg_type() -> Type {
        Type::JSONB
    }
    fn encode(&self, out: &mut BytesMut) -> Result<IsNull, BindError> {
        ToSql::to_sql(self, &Type::JSONB, out)
    }
}

impl<T: Bind> Bind for Option<T> {
    fn pg_type() -> Type {
        T::pg_type()
    }
    fn encode(&self, out: &mut BytesMut) -> Result<IsNull, BindError> {
        match self {
            Some(v) => v.encode(out),
            None => Ok(IsNull::Yes),
        }
    }
}

impl<T: Bind + Sync> Bind for &T {
    fn pg_type() -> Type {
        T::pg_type()
    }
    fn encode(&self, out: &mut BytesMut) -> Result<IsNull, BindError> {
        (**self).encode(out)
    }
}

/// Bound values, encoded: the bytes of each (`None` for NULL) and its declared type.
#[derive(Debug, Default)]
pub struct Args {
    pub(super) types: Vec<Type>,
    pub(super) values: Vec<Option<BytesMut>>,
}

/// Adding to [`Args`] (sqlx's name for it, kept so call sites read the same).
pub trait Arguments {
    fn add<T: Bind>(&mut self, value: T) -> Result<(), BindError>;
}

impl Arguments for Args {
    fn add<T: Bind>(&mut self, value: T) -> Result<(), BindError> {
        let mut out = BytesMut::new();
        let value = match value.encode(&mut out)? {
            IsNull::Yes => None,
            IsNull::No => Some(out),
        };
        self.types.push(T::pg_type());
        self.values.push(value);
        Ok(())
    }
}

/// An encoded value, handed to the driver as it is: its type was declared at prepare time.
#[derive(Debug)]
pub(super) struct Encoded<'a>(pub(super) Option<&'a [u8]>);

impl ToSql for Encoded<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BindError> {
        match self.0 {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres_types::to_sql_checked!();
}

impl Args {
    pub(super) fn encoded(&self) -> impl ExactSizeIterator<Item = Encoded<'_>> {
        self.values.iter().map(|v| Encoded(v.as_deref()))
    }
}
