//! Auditing at the schema boundary: every root mutation field that succeeds appends an
//! entry in the request's transaction (action = field name, target = the returned object,
//! payload = resolved arguments and the result). Like the guard, it is one extension, so
//! a new mutation cannot forget to audit. If the append fails, the field fails and the
//! whole request rolls back: no unaudited change commits.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value, Variables};

use super::context::RequestState;
use super::errors::{ApiError, ErrorCode};
use crate::audit::{self, NewEntry};

/// The request's variables, kept so that audited arguments are recorded resolved.
pub struct AuditVariables(pub Variables);

pub struct AuditTrail;

impl ExtensionFactory for AuditTrail {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AuditTrail)
    }
}

/// Argument and input-field names whose values never enter the audit log.
fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    // A value named `token` (or `…Token`) is a credential; `tokensRevoked` is a count.
    n.ends_with("token")
        || [
            "secret",
            "password",
            "credential",
            "privatekey",
            "secondfactor",
        ]
        .iter()
        .any(|s| n.contains(s))
}

/// Replaces sensitive values (at any depth) with `"[REDACTED]"`.
fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if is_sensitive(k) {
                    *val = serde_json::Value::String("[REDACTED]".into());
                } else {
                    redact(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn find_id(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => m
            .get("id")
            .and_then(|id| id.as_str().map(str::to_owned))
            .or_else(|| m.values().find_map(find_id)),
        _ => None,
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AuditTrail {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root_mutation = info.parent_type == "Mutation" && info.path_node.parent.is_none();
        if !root_mutation {
            return next.run(ctx, info).await;
        }
        let pos = info.field.name.pos;
        let (action, return_type) = (
            info.name.to_owned(),
            info.return_type.trim_end_matches('!').to_owned(),
        );
        let vars = ctx.data_opt::<AuditVariables>();
        let mut args = serde_json::Map::new();
        for (name, value) in &info.field.arguments {
            let resolved = value
                .node
                .clone()
                .into_const_with(|n| vars.and_then(|v| v.0.get(&n).cloned()).ok_or(()))
                .ok()
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or(serde_json::Value::Null);
            args.insert(name.node.to_string(), resolved);
        }
        let mut args = serde_json::Value::Object(args);
        redact(&mut args);
        let result = next.run(ctx, info).await?;
        let Some(state) = ctx.data_opt::<RequestState>() else {
            return Err(ApiError::new(ErrorCode::Internal, "internal error").into_server_error(pos));
        };
        let mut result_json = result
            .as_ref()
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_default();
        // Results can carry secrets shown once (a minted token): never into the log.
        redact(&mut result_json);
        let target_id = find_id(&result_json)
            .or_else(|| args.get("id").and_then(|v| v.as_str().map(str::to_owned)))
            .unwrap_or_default();
        let mut tx = state
            .tx
            .lock()
            .await
            .map_err(|e| e.into_server_error(pos))?;
        let changes = tx.take_changes();
        let mut payload = serde_json::json!({ "arguments": args, "result": result_json });
        if !changes.is_empty() {
            // Field-level before/after of every entity the mutation changed.
            let mut changes = serde_json::Value::Array(changes);
            redact(&mut changes);
            payload["changes"] = changes;
        }
        let entry = NewEntry {
            action: &action,
            target_type: &return_type,
            target_id,
            payload,
        };
        let tenant_id = tx.tenant_id();
        let target_id = entry.target_id.clone();
        let at = state.clock.now();
        let seq = audit::append(
            tx.conn(),
            &state.keyring,
            tenant_id,
            at,
            &state.audit_meta,
            entry,
        )
        .await
        .map_err(|e| ApiError::from(e).into_server_error(pos))?;
        // Webhook events go into the outbox in the same transaction as the change.
        crate::webhooks::emit(
            &mut tx,
            &crate::webhooks::Event {
                event_type: &action,
                target_type: &return_type,
                target_id: &target_id,
                actor_type: state.audit_meta.actor_type,
                actor_id: &state.audit_meta.actor_id,
                audit_seq: seq,
                at,
            },
        )
        .await
        .map_err(|e| ApiError::from(e).into_server_error(pos))?;
        Ok(result)
    }
}
