//! Test harness: a fresh database per test, the real server on a random port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tessera::authz::{Role, Scope};
use tessera::config::Config;
use tessera::db::migrate::{self, MigrationSet};
use tessera::db::{self, RoleNames};
use tessera::tenancy::{self, Slug, Tenant};
use uuid::Uuid;

/// The password test accounts sign up with.
pub const PASSWORD: &str = "correct horse battery staple";

/// The `/metrics` bearer token of test servers.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// Administrative URL of the test cluster (a superuser).
pub fn admin_url() -> String {
    std::env::var("TESSERA_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Sends the servers' logs (errors only, unless `TESSERA_TEST_LOG` holds another filter) to
/// the test harness, which prints them beside a failing test: an `INTERNAL` answer then shows
/// its cause.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("TESSERA_TEST_LOG").unwrap_or_else(|_| "error".to_owned());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// A fresh database with its own roles, migrated. Dropped (database and roles) on drop.
pub struct TestDb {
    pub keyring: tessera::crypto::Keyring,
    pub master_key_b64: String,
    pub name: String,
    pub roles: RoleNames,
    pub cfg: Config,
    /// The migrator role's sqlx pool, for the tests' own statements.
    pub migrator: PgPool,
    /// The same role's pool as the server's code takes it (provisioning, seeding).
    pub owner: db::MigratorPool,
    pub set: MigrationSet,
    pub app_url: String,
    pub migrator_url: String,
    /// Data directory of the test's server (attachment objects live under it).
    pub blob_dir: PathBuf,
    _blobs: tempdir::Dir,
    /// Last, so it runs after the pools above are dropped.
    _cleanup: Cleanup,
}

fn url_for(user: &str, db: &str) -> String {
    let admin: PgConnectOptions = admin_url().parse().expect("TESSERA_TEST_ADMIN_URL");
    // A Citus cluster speaks TLS with a self-signed certificate; the tests ask for none.
    let tls = if crate::citus::workers().is_some() {
        "?sslmode=disable"
    } else {
        ""
    };
    format!(
        "postgres://{user}@{}:{}/{db}{tls}",
        admin.get_host(),
        admin.get_port()
    )
}

impl TestDb {
    pub async fn new() -> Self {
        Self::with_migrations(None).await
    }

    /// A database migrated with the migrations in `dir` (public/ and tenant/).
    pub async fn with_migrations(dir: Option<&Path>) -> Self {
        tessera::install_crypto_provider();
        capture_logs();
        let name = format!("tt_{}", &Uuid::new_v4().simple().to_string()[..10]);
        let roles = RoleNames::new(&name);
        let mut admin = db::admin_connect_url(&admin_url())
            .await
            .expect("admin connection");
        db::bootstrap_database(&mut admin, &name, &roles, None)
            .await
            .expect("bootstrap");
        if let Some(workers) = crate::citus::workers() {
            crate::citus::prepare_database(&name, &roles, &workers).await;
        }
        // From here on the database is dropped even if the set-up below panics.
        let cleanup = Cleanup {
            name: name.clone(),
            roles: roles.clone(),
        };
        let mut cfg = Config {
            role_prefix: name.clone(),
            migrations_dir: dir.map(Path::to_path_buf),
            ..Config::default()
        };
        cfg.limits.report_statement_count = true;
        // Tests read /metrics with this token (see `TestApp::metrics`).
        cfg.metrics_token = Some(tessera::crypto::Secret::new(METRICS_TOKEN.to_owned()));
        // With TESSERA_TEST_PGBOUNCER (host:port of a PgBouncer in transaction mode in front
        // of the test cluster; the test command starts one) the runtime role connects
        // through it, as in a deployment behind PgBouncer; LISTEN goes direct.
        let direct_app_url = url_for(&roles.app, &name);
        let app_url = match std::env::var("TESSERA_TEST_PGBOUNCER") {
            Ok(via) if !via.is_empty() => {
                cfg.database_listen_url = Some(direct_app_url.clone());
                format!("postgres://{}@{via}/{name}", roles.app)
            }
            _ => direct_app_url,
        };
        let migrator_url = url_for(&roles.migrator, &name);
        let owner = db::connect_migrator_pool(&cfg, &migrator_url)
            .await
            .expect("migrator pool");
        let migrator = db::sqlx_pool(&owner).clone();
        let set = MigrationSet::load(dir).expect("migrations");
        let report = migrate::run(&migrator, &roles, &set, 4)
            .await
            .expect("migrate");
        assert!(report.failures.is_empty());
        let master = tessera::crypto::MasterKey::generate();
        let blobs = tempdir::Dir::new();
        Self {
            master_key_b64: master.to_base64().expose().clone(),
            keyring: tessera::crypto::Keyring::new(master),
            name,
            roles,
            cfg,
            migrator,
            owner,
            set,
            app_url,
            migrator_url,
            blob_dir: blobs.path().to_path_buf(),
            _blobs: blobs,
            _cleanup: cleanup,
        }
    }

    pub async fn app_pool(&self, max: u32) -> tessera::db::AppPool {
        let mut cfg = self.cfg.clone();
        cfg.pool_max_connections = max;
        db::connect_app_pool(&cfg, &self.app_url)
            .await
            .expect("app pool")
    }

    pub async fn create_tenant(&self, slug: &str) -> Tenant {
        let slug = Slug::parse(slug).expect("slug");
        tenancy::create_tenant(
            &self.owner,
            &self.keyring,
            &slug,
            &format!("Workspace {slug}"),
            self.set.tenant_latest(),
        )
        .await
        .expect("create tenant")
    }

    /// Adds a user (created if new) to a workspace; returns the user id.
    pub async fn add_user(&self, tenant: &Tenant, email: &str, role: Role) -> Uuid {
        let mut conn = self.owner.acquire().await.unwrap();
        let user = tessera::identity::ensure_user(&mut conn, email, email)
            .await
            .unwrap();
        tessera::identity::add_member(&mut conn, tenant.id, user.id, role)
            .await
            .unwrap();
        user.id
    }

    pub async fn token(&self, tenant: &Tenant, user: Uuid, scopes: &[Scope]) -> String {
        let mut conn = self.owner.acquire().await.unwrap();
        let (_, secret) = tessera::identity::mint_token(&mut conn, tenant.id, user, "test", scopes)
            .await
            .expect("mint");
        secret.expose().to_owned()
    }
}

/// Drops a test database and its roles when dropped.
pub struct Cleanup {
    name: String,
    roles: RoleNames,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (name, roles) = (self.name.clone(), self.roles.clone());
        // Async cleanup from Drop: a short-lived runtime on its own thread. The pools belong
        // to the test's runtime, which is blocked here; DROP DATABASE ... WITH (FORCE) ends
        // their sessions instead of waiting for them.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                if let Some(workers) = crate::citus::workers() {
                    crate::citus::drop_on_workers(&name, &workers).await;
                }
                let mut admin = db::admin_connect_url(&admin_url()).await.ok()?;
                db::drop_database(&mut admin, &name, &roles).await.ok()
            })
        })
        .join();
    }
}

/// The real HTTP server on a random loopback port over a [`TestDb`].
pub struct TestApp {
    pub db: TestDb,
    pub addr: SocketAddr,
    pub pool: tessera::db::AppPool,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    worker: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_on(TestDb::new().await, 8).await
    }

    pub async fn spawn_on(db: TestDb, pool_size: u32) -> Self {
        let pool = db.app_pool(pool_size).await;
        let (addr, tx, worker) = serve(&db, pool.clone(), db.cfg.clone()).await;
        Self {
            db,
            addr,
            pool,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            worker,
        }
    }

    /// A second server over the same database, with `cfg` (a replica behind the same load
    /// balancer). It stops when the returned guard drops.
    pub async fn replica(&self, cfg: Config) -> Replica {
        let pool = self.db.app_pool(4).await;
        let (addr, tx, worker) = serve(&self.db, pool, cfg).await;
        Replica {
            addr,
            _shutdown: tx,
            worker,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GETs `path` with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a GraphQL request to `/w/{slug}/graphql`; returns (status, body).
    pub async fn gql(
        &self,
        slug: &str,
        token: &str,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(&format!("/w/{slug}/graphql")))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `data` of a request that must succeed.
    pub async fn ok(&self, slug: &str, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(slug, token, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }
}

/// A running replica (see [`TestApp::replica`]).
pub struct Replica {
    pub addr: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    worker: tokio::task::JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

/// Serves `pool` with `cfg` on a random loopback port, with a background worker.
async fn serve(
    db: &TestDb,
    pool: tessera::db::AppPool,
    mut cfg: Config,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let limits = cfg.limits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Browsers reach the server as https://localhost:<port> (TLS ends before it), unless the
    // test chose an origin.
    if cfg.auth.public_origin == tessera::config::Auth::default().public_origin {
        cfg.auth.public_origin = format!("https://localhost:{}", addr.port());
    }
    cfg.data_dir = db.blob_dir.clone();
    let state = tessera::http::AppState::new(
        pool,
        tessera::graphql::build_tenant_schema(&limits).unwrap(),
        tessera::graphql::build_global_schema(&limits).unwrap(),
        db.keyring.clone(),
        &cfg,
    )
    .await
    .unwrap();
    // The background worker, polling often so tests see jobs finish quickly.
    let mut jobs = cfg.jobs.clone();
    jobs.poll_interval_ms = 50;
    let worker = tokio::spawn(state.worker(jobs).run());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tessera::http::serve(listener, state, async move {
        let _ = rx.await;
    }));
    (addr, tx, worker)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.worker.abort();
    }
}

/// A browser: a cookie jar for the session cookie, and the server's own Origin on writes.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookie: None }
    }

    pub fn origin(&self) -> String {
        format!("https://{}", self.app.addr)
    }

    pub async fn post(
        &mut self,
        path: &str,
        body: Value,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        self.post_with(path, body, Some("application/json"), Some(self.origin()))
            .await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        body: Value,
        ctype: Option<&str>,
        origin: Option<String>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .app
            .http
            .post(self.app.url(path))
            .body(body.to_string());
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if let Some(set) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn gql(&mut self, slug: &str, query: &str) -> (u16, Value) {
        let (s, _, b) = self
            .post(&format!("/w/{slug}/graphql"), json!({ "query": query }))
            .await;
        (s, b)
    }

    /// A tenant GraphQL request with variables.
    pub async fn gql_vars(&mut self, slug: &str, query: &str, variables: Value) -> (u16, Value) {
        let (s, _, b) = self
            .post(
                &format!("/w/{slug}/graphql"),
                json!({ "query": query, "variables": variables }),
            )
            .await;
        (s, b)
    }

    /// Signs up with `email` (and the test password); panics unless it worked.
    pub async fn sign_up(&mut self, email: &str) -> Value {
        let (status, _, body) = self
            .post(
                "/auth/signup",
                json!({ "email": email, "password": PASSWORD, "displayName": email }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// A request to the global endpoint `/graphql`.
    pub async fn global(&mut self, query: &str, variables: Value) -> (u16, Value) {
        let (s, _, b) = self
            .post(
                "/graphql",
                json!({ "query": query, "variables": variables }),
            )
            .await;
        (s, b)
    }
}

/// The first error code of a GraphQL response.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

/// A workspace with an owner token, an open team and a project, for tests that need data.
pub struct Seeded {
    pub tenant: Tenant,
    pub owner: Uuid,
    pub owner_token: String,
    pub team_id: String,
    pub project_id: String,
}

/// Creates a goal titled `title` in `slug` and returns its id (a JSON string).
pub async fn create_goal(app: &TestApp, slug: &str, token: &str, title: &str) -> Value {
    app.ok(
        slug,
        token,
        "mutation($t: String!) { createGoal(input: {title: $t}) { id } }",
        json!({ "t": title }),
    )
    .await["createGoal"]["id"]
        .clone()
}

pub async fn seed(app: &TestApp, slug: &str) -> Seeded {
    let tenant = app.db.create_tenant(slug).await;
    let owner = app
        .db
        .add_user(&tenant, &format!("owner@{slug}.test"), Role::Owner)
        .await;
    let owner_token = app
        .db
        .token(
            &tenant,
            owner,
            &[Scope::Read, Scope::Write, Scope::Settings],
        )
        .await;
    let team = app
        .ok(
            slug,
            &owner_token,
            "mutation { createTeam(input: {name: \"Core\", visibility: OPEN}) { id } }",
            json!({}),
        )
        .await;
    let team_id = team["createTeam"]["id"].as_str().unwrap().to_owned();
    let project = app
        .ok(
            slug,
            &owner_token,
            "mutation($t: ID!, $n: String!) { createProject(input: {teamId: $t, name: $n}) { id } }",
            json!({ "t": team_id, "n": format!("{slug} project") }),
        )
        .await;
    let project_id = project["createProject"]["id"].as_str().unwrap().to_owned();
    Seeded {
        tenant,
        owner,
        owner_token,
        team_id,
        project_id,
    }
}

/// A copy of the real migrations plus extra tenant migrations, for migration tests.
pub fn migrations_with(extra_tenant: &[(&str, &str)]) -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for sub in ["public", "tenant"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    for (name, sql) in extra_tenant {
        std::fs::write(dir.path().join("tenant").join(name), sql).unwrap();
    }
    let path = dir.path().to_path_buf();
    (dir, path)
}

pub mod tempdir {
    use std::path::{Path, PathBuf};

    /// A temporary directory removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir()
                .join(format!("tessera-test-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
