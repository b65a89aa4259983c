//! Outbound webhooks. For now: the signature scheme (Standard Webhooks), shared by the
//! delivery worker that signs and by receivers that verify (`signature::verify`).

pub mod signature;
