//! The schema walker: every mutation carries `@requires`, and the checked-in SDL is current.

use async_graphql::{EmptySubscription, Object, Schema};
use tessera::authz::walker::{WalkError, guard_map};
use tessera::authz::{RequiresGuard, requires};

#[test]
fn the_real_schemas_pass_the_walker() {
    let map = guard_map(&tessera::graphql::tenant_sdl()).expect("tenant schema is fully guarded");
    assert!(map.fields.len() > 20);
    guard_map(&tessera::graphql::global_sdl()).expect("global schema passes");
}

#[test]
fn the_checked_in_sdl_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    for (file, sdl) in [
        ("schema.graphql", tessera::graphql::tenant_sdl()),
        ("global.graphql", tessera::graphql::global_sdl()),
    ] {
        let on_disk = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        assert!(
            on_disk == sdl,
            "schema/{file} is stale: run `cargo run -- schema > schema/schema.graphql` (and --global > schema/global.graphql)"
        );
    }
}

struct Q;

#[Object]
impl Q {
    async fn ping(&self) -> bool {
        true
    }
}

/// A fixture with one guarded and one unguarded mutation.
struct LeakyMutation;

#[Object(name = "Mutation")]
impl LeakyMutation {
    #[graphql(directive = requires::apply("work:write".to_owned()))]
    async fn guarded(&self) -> bool {
        true
    }
    async fn forgot_the_guard(&self) -> bool {
        true
    }
}

struct TypoMutation;

#[Object(name = "Mutation")]
impl TypoMutation {
    #[graphql(directive = requires::apply("work:wirte".to_owned()))]
    async fn typo(&self) -> bool {
        true
    }
}

/// A fixture with `@requires` on a field of a non-root type, which the guard would not see.
struct Nested;

#[Object]
impl Nested {
    #[graphql(directive = requires::apply("audit:read".to_owned()))]
    async fn hidden(&self) -> bool {
        true
    }
}

struct NestingQuery;

#[Object(name = "Query")]
impl NestingQuery {
    async fn nested(&self) -> Nested {
        Nested
    }
}

#[test]
fn the_walker_refuses_a_guard_off_the_root_types() {
    let sdl = Schema::build(NestingQuery, LeakyMutation, EmptySubscription)
        .finish()
        .sdl();
    assert!(
        matches!(guard_map(&sdl), Err(WalkError::Unguarded(_))),
        "the unguarded mutation is reported first"
    );
    let sdl = Schema::build(
        NestingQuery,
        async_graphql::EmptyMutation,
        EmptySubscription,
    )
    .finish()
    .sdl();
    assert_eq!(
        guard_map(&sdl).err(),
        Some(WalkError::NotOnRoot(vec!["Nested.hidden".to_owned()]))
    );
}

#[test]
fn the_walker_catches_an_unguarded_mutation_and_an_unknown_permission() {
    let leaky = Schema::build(Q, LeakyMutation, EmptySubscription)
        .finish()
        .sdl();
    assert_eq!(
        guard_map(&leaky).err(),
        Some(WalkError::Unguarded(vec![
            "Mutation.forgotTheGuard".to_owned()
        ]))
    );
    let typo = Schema::build(Q, TypoMutation, EmptySubscription)
        .finish()
        .sdl();
    assert!(matches!(
        guard_map(&typo),
        Err(WalkError::UnknownPermission(_))
    ));
}

#[tokio::test]
async fn an_unguarded_mutation_is_refused_at_run_time_too() {
    // Even if a schema with a hole were served, the guard fails closed.
    let mut map = guard_map(
        &Schema::build(Q, LeakyMutation, EmptySubscription)
            .finish()
            .sdl(),
    )
    .unwrap_or_default();
    map.mutation_type = Some("Mutation".to_owned());
    let schema = Schema::build(Q, LeakyMutation, EmptySubscription)
        .extension(RequiresGuard::new(map))
        .finish();
    let resp = schema.execute("mutation { forgotTheGuard }").await;
    assert_eq!(resp.errors.len(), 1);
    let code = resp.errors[0]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .cloned();
    assert_eq!(code, Some(async_graphql::Value::from("FORBIDDEN")));
    // And a guarded one without a principal is refused as well.
    let resp = schema.execute("mutation { guarded }").await;
    assert_eq!(resp.errors.len(), 1);
}

struct LeakySubscription;

#[async_graphql::Subscription]
impl LeakySubscription {
    async fn everything(&self) -> impl futures_util::Stream<Item = i32> {
        futures_util::stream::iter([1])
    }
}

#[test]
fn the_walker_catches_an_unguarded_subscription() {
    let sdl = Schema::build(Q, async_graphql::EmptyMutation, LeakySubscription)
        .finish()
        .sdl();
    assert_eq!(
        guard_map(&sdl).err(),
        Some(WalkError::Unguarded(vec![
            "LeakySubscription.everything".to_owned()
        ]))
    );
}
