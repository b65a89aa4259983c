//! Webhook endpoints and their deliveries.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{parse_id, perm, state, tx};
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// The workspace's webhook endpoints.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Served<Vec<WebhookEndpointObj>>> {
        if let Some(v) = compiled::serve(ctx, Root::WebhookEndpoints).await? {
            return Ok(Served::Compiled(v));
        }
        Ok(Served::Resolved(
            crate::webhooks::list(&mut *tx(ctx).await?)
                .await?
                .into_iter()
                .map(WebhookEndpointObj)
                .collect(),
        ))
    }

    /// Messages to one endpoint, newest first, with their latest attempt.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn webhook_messages(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Served<Vec<WebhookMessageObj>>> {
        let id = parse_id(&endpoint_id)?;
        if let Some(v) = compiled::serve(ctx, Root::WebhookMessages(id, i64::from(first))).await? {
            return Ok(Served::Compiled(v));
        }
        Ok(Served::Resolved(
            crate::webhooks::messages(&mut *tx(ctx).await?, id, i64::from(first))
                .await?
                .into_iter()
                .map(WebhookMessageObj)
                .collect(),
        ))
    }
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers a webhook endpoint for some event types (mutation names such as
    /// `createProject`, or `*`). The URL must reach a public address (loopback and private
    /// ranges only where the server's `network` settings allow them). Returns the signing
    /// secret, shown this once.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<WebhookEndpointSecretObj> {
        let st = state(ctx)?;
        let (keyring, outbound, user) = (
            st.keyring.clone(),
            st.outbound.clone(),
            st.principal.user_id,
        );
        let (endpoint, secret) = crate::webhooks::create(
            &mut *tx(ctx).await?,
            &keyring,
            &outbound,
            user,
            &input.url,
            &input.events,
        )
        .await?;
        Ok(WebhookEndpointSecretObj {
            endpoint,
            secret: secret.expose(),
        })
    }

    /// A new signing secret for an endpoint (shown this once). The previous secret keeps
    /// signing, as a second signature, for `webhooks.rotation_overlap_hours`.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookEndpointSecretObj> {
        let id = parse_id(&id)?;
        let st = state(ctx)?;
        let (keyring, overlap) = (st.keyring.clone(), st.webhooks.rotation_overlap_hours);
        let (endpoint, secret) =
            crate::webhooks::rotate(&mut *tx(ctx).await?, &keyring, id, overlap).await?;
        Ok(WebhookEndpointSecretObj {
            endpoint,
            secret: secret.expose(),
        })
    }

    /// Turns an endpoint disabled by repeated failures back on.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn enable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookEndpointObj> {
        let id = parse_id(&id)?;
        Ok(WebhookEndpointObj(
            crate::webhooks::enable(&mut *tx(ctx).await?, id).await?,
        ))
    }

    /// Removes an endpoint with its messages and secrets.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id(&id)?;
        if crate::webhooks::delete(&mut *tx(ctx).await?, id).await? {
            Ok(true)
        } else {
            Err(crate::graphql::errors::ApiError::not_found().into())
        }
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// `https://…` (or `http://…`); no credentials in it.
    pub url: String,
    /// Mutation names (`createProject`), or `*` for every event.
    pub events: Vec<String>,
}

/// A webhook endpoint of the workspace. Its secret is never returned after registration.
pub struct WebhookEndpointObj(pub crate::webhooks::Endpoint);

#[Object(name = "WebhookEndpoint")]
impl WebhookEndpointObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Event types (mutation names, or `*` for all).
    async fn events(&self) -> &[String] {
        &self.0.events
    }
    /// False after repeated failures (see `disabledReason`) until `enableWebhookEndpoint`.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// Messages in a row that failed every attempt.
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }
    /// While set and in the future, messages carry a second signature with the previous secret.
    async fn previous_secret_until(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_until
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A registered endpoint and its signing secret, shown this once.
pub struct WebhookEndpointSecretObj {
    pub endpoint: crate::webhooks::Endpoint,
    pub secret: String,
}

#[Object(name = "WebhookEndpointWithSecret")]
impl WebhookEndpointSecretObj {
    async fn endpoint(&self) -> WebhookEndpointObj {
        WebhookEndpointObj(self.endpoint.clone())
    }
    /// `whsec_<base64>`: store it now; it is never shown again.
    async fn secret(&self) -> &str {
        &self.secret
    }
}

/// One outbox message to an endpoint and its latest attempt.
pub struct WebhookMessageObj(pub crate::webhooks::Message);

#[Object(name = "WebhookMessage")]
impl WebhookMessageObj {
    /// The `webhook-id` header receivers see (and deduplicate by).
    async fn id(&self) -> String {
        crate::webhooks::message_id(self.0.id)
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// `pending`, `delivered` or `failed` (every attempt failed).
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// The HTTP status of the latest attempt, if the endpoint answered.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
}
