//! Network access: the workspace's IP allowlist (`tenancy::allowlist`).

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::authz::{Permission as P, requires};
use crate::graphql::context::{perm, state, tx};
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::tenancy::allowlist;

#[derive(Default)]
pub struct NetworkQuery;

/// Who may reach this workspace, and from where the caller is seen.
#[derive(SimpleObject)]
pub struct NetworkAccess {
    /// The networks requests may come from (CIDR notation). Empty: every address.
    allowlist: Vec<String>,
    /// The address this request came from, as the server sees it (behind a trusted proxy,
    /// the one it forwards). `null` when the server cannot tell.
    your_address: Option<String>,
    /// Whether the allowlist admits `yourAddress`.
    you_are_inside: bool,
}

fn access(list: Vec<String>, you: Option<std::net::IpAddr>) -> NetworkAccess {
    let parsed = allowlist::parse(&list).unwrap_or_default();
    NetworkAccess {
        you_are_inside: allowlist::admits(&parsed, you),
        allowlist: list,
        your_address: you.map(|ip| ip.to_string()),
    }
}

#[Object]
impl NetworkQuery {
    /// The workspace's IP allowlist and the caller's address.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn network_access(&self, ctx: &Context<'_>) -> Result<NetworkAccess> {
        let you = state(ctx)?.client_ip();
        let list = allowlist::current(tx(ctx).await?.conn())
            .await
            .map_err(ApiError::from)?;
        Ok(access(list, you))
    }
}

#[derive(Default)]
pub struct NetworkMutation;

#[Object]
impl NetworkMutation {
    /// Replaces the workspace's IP allowlist: networks (`203.0.113.0/24`, `2001:db8::/32`)
    /// or single addresses; an empty list lets every address in. Enforced from the next
    /// request on, for sessions and API tokens alike, on every route of the workspace. A list
    /// that would not admit the address it is saved from is refused (`WOULD_LOCK_OUT`); the
    /// operator can clear a list with `tessera tenant allowlist-clear`. Owners only, from a
    /// browser session; audited with before and after.
    #[graphql(directive = requires::apply(perm(P::NetworkManage)))]
    async fn set_ip_allowlist(
        &self,
        ctx: &Context<'_>,
        networks: Vec<String>,
    ) -> Result<NetworkAccess> {
        let you = state(ctx)?.client_ip();
        let list = allowlist::parse(&networks).map_err(|e| ApiError::bad_input(e.to_string()))?;
        if !allowlist::admits(&list, you) {
            let message = match you {
                Some(ip) => format!(
                    "this list does not include your address ({ip}): saving it would lock \
                     you out of this workspace — add {ip} or a network that contains it"
                ),
                None => "the server cannot tell your address, so a list could lock you \
                         out: save it from a connection whose address the server sees"
                    .to_owned(),
            };
            return Err(ApiError::new(ErrorCode::WouldLockOut, message).into());
        }
        let mut tx = tx(ctx).await?;
        let before = allowlist::replace(tx.conn(), &list)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::not_found)?;
        let after: Vec<String> = list.iter().map(ToString::to_string).collect();
        tx.note_change(serde_json::json!({
            "entity": "workspace", "field": "ip_allowlist", "before": before, "after": after
        }));
        Ok(access(after, you))
    }
}
