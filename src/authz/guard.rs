use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, TypeDirective, Value};

use super::{Permission, PermissionSet};
use crate::graphql::errors::{ApiError, ErrorCode};

/// `@requires(permission: "...")`: the permission a field needs. Declared on the field;
/// enforced by [`RequiresGuard`], which reads the same directive from the built schema.
#[TypeDirective(location = "FieldDefinition")]
pub fn requires(permission: String) {}

/// Enforces every `@requires` directive of the schema, and refuses any mutation field that
/// has none. Built from the schema's own SDL (see [`super::walker::guard_map`]).
#[derive(Clone)]
pub struct RequiresGuard {
    inner: Arc<GuardTable>,
}

struct GuardTable {
    fields: HashMap<(String, String), Permission>,
    mutation_type: Option<String>,
}

impl RequiresGuard {
    pub fn new(map: super::walker::GuardMap) -> Self {
        Self {
            inner: Arc::new(GuardTable {
                fields: map.fields,
                mutation_type: map.mutation_type,
            }),
        }
    }
}

impl ExtensionFactory for RequiresGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequiresGuard {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let key = (info.parent_type.to_owned(), info.name.to_owned());
        match self.inner.fields.get(&key) {
            Some(permission) => {
                // The caller's effective permissions, put in the request by the HTTP layer
                // (a tenant principal's, or a global caller's). None: nothing is allowed.
                let allowed = ctx
                    .data_opt::<PermissionSet>()
                    .is_some_and(|p| p.contains(*permission));
                if !allowed {
                    let err = ApiError::new(
                        ErrorCode::Forbidden,
                        format!("this operation requires the {permission} permission"),
                    );
                    return Err(err.into_server_error(info.field_pos()));
                }
            }
            None if self.inner.mutation_type.as_deref() == Some(info.parent_type) => {
                // Fail closed: a mutation the walker would have rejected never runs.
                let err = ApiError::new(
                    ErrorCode::Forbidden,
                    "this operation has no permission guard",
                );
                return Err(err.into_server_error(info.field_pos()));
            }
            None => {}
        }
        next.run(ctx, info).await
    }
}

trait FieldPos {
    fn field_pos(&self) -> async_graphql::Pos;
}

impl FieldPos for ResolveInfo<'_> {
    fn field_pos(&self) -> async_graphql::Pos {
        self.field.name.pos
    }
}
