//! Outbound webhooks: endpoints, the outbox, and delivery.
//!
//! - **Endpoints** are registered per workspace with a URL and the event types they want
//!   (mutation names such as `createProject`, or `*`). The URL is checked against the address
//!   policy when registered (literal addresses in every spelling, and what the host resolves
//!   to). The signing secret is generated here, shown once, and kept sealed in the tenant
//!   secrets store; a rotation keeps the previous secret signing for an overlap period, so
//!   receivers see two signatures meanwhile.
//! - **Events** are written by the audit extension, in the mutation's own transaction: one
//!   outbox message per subscribed endpoint, each with a job in `public.jobs`. A mutation that
//!   rolls back leaves no message; one that commits always has them.
//! - **Delivery** is a job: with several replicas exactly one worker claims it (`FOR UPDATE
//!   SKIP LOCKED`). The worker signs the message (Standard Webhooks), posts it through
//!   [`crate::net::Outbound`], which resolves the host again and refuses forbidden addresses
//!   at connect time (a DNS answer that changed since registration cannot reach the inside)
//!   and never follows redirects. Every attempt is recorded; a failure is retried with
//!   exponential backoff and jitter; a message that fails every attempt counts against its
//!   endpoint, which is disabled after `webhooks.disable_after_failures` such messages in a
//!   row. Delivery is at least once: receivers deduplicate by `webhook-id`.
//!
//! Events are thin: the type, the workspace, the target's type and id, the actor and the audit
//! sequence number. Receivers read details through the API with their own credentials, so a
//! webhook never carries more than its endpoint's owner could already see.

mod delivery;
mod endpoints;
mod outbox;
pub mod signature;

pub use delivery::Delivery;
pub use endpoints::{
    Endpoint, Message, WebhookError, check_destination, create, delete, enable, list, messages,
    rotate,
};
pub use outbox::{CHECKPOINT_EVENT, Event, emit, emit_receipt, message_id};
