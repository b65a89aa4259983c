//! The guard: `@requires` in the SDL, enforced from the SDL.
//!
//! Two checks read the same table (built by [`super::walker::guard_map`] from the schema's
//! own SDL, so the directive *is* the guard):
//!
//! - [`RequiresGuard::required`] runs on every operation before it executes: the
//!   permissions of every guarded root field the operation selects, through fragments and
//!   including fields under `@skip`/`@include` (a superset of what execution resolves), must
//!   all be held, or nothing runs. A root mutation field without a guard refuses the whole
//!   operation. The walker refuses `@requires` anywhere but on root fields, so this check
//!   sees every guarded field there is.
//! - The same guard as an extension re-checks each field as it resolves, on the schemas
//!   that run mutations (defence in depth where state changes). Queries run on a schema
//!   without extensions: an extension costs every resolved field a boxed future and a type
//!   name lookup, which for a page of 500 nested objects is most of the request.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType};

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
    /// Parent type, then field name: looked up by `&str` for every resolved field,
    /// without allocating.
    fields: HashMap<String, HashMap<String, Permission>>,
    query_type: Option<String>,
    mutation_type: Option<String>,
    subscription_type: Option<String>,
}

impl RequiresGuard {
    pub fn new(map: super::walker::GuardMap) -> Self {
        let mut fields: HashMap<String, HashMap<String, Permission>> = HashMap::new();
        for ((parent, field), permission) in map.fields {
            fields.entry(parent).or_default().insert(field, permission);
        }
        Self {
            inner: Arc::new(GuardTable {
                fields,
                query_type: map.query_type,
                mutation_type: map.mutation_type,
                subscription_type: map.subscription_type,
            }),
        }
    }

    /// The permissions `operation` of `doc` needs before it may run (see the module docs).
    /// Refuses a mutation or subscription that selects a root field without a guard.
    pub fn required(
        &self,
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
    ) -> Result<PermissionSet, ApiError> {
        let root = match operation.ty {
            OperationType::Query => self.inner.query_type.as_deref(),
            OperationType::Mutation => self.inner.mutation_type.as_deref(),
            OperationType::Subscription => self.inner.subscription_type.as_deref(),
        };
        let is_mutation = operation.ty != OperationType::Query;
        let guarded = root.and_then(|r| self.inner.fields.get(r));
        let mut needed = PermissionSet::default();
        let mut unguarded = false;
        crate::graphql::preflight::visit_root_fields(doc, operation, &mut |field| {
            let name = field.name.node.as_str();
            if name.starts_with("__") {
                // Meta fields: `__typename` anywhere, introspection on queries (which
                // validation confines to query roots).
                return;
            }
            match guarded.and_then(|g| g.get(name)) {
                Some(p) => needed = needed.union(PermissionSet::of(&[*p])),
                None => unguarded |= is_mutation || root.is_none(),
            }
        });
        if unguarded {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this operation has no permission guard",
            ));
        }
        Ok(needed)
    }

    /// Refuses unless `held` includes every permission of `needed`, naming the first missing.
    pub fn check(needed: PermissionSet, held: PermissionSet) -> Result<(), ApiError> {
        match needed.iter().find(|p| !held.contains(*p)) {
            None => Ok(()),
            Some(missing) => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("this operation requires the {missing} permission"),
            )),
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
        let guarded = self
            .inner
            .fields
            .get(info.parent_type)
            .and_then(|fields| fields.get(info.name));
        match guarded {
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
