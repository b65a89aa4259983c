//! `tessera serve [--demo]`: migrate (unless told not to), then serve HTTP and run the
//! background worker and the audit checkpoint job until SIGTERM or Ctrl-C.

use std::process::ExitCode;

/// Writes a line for the operator, ignoring a closed stream: a supervisor that stops
/// reading the server's output must not bring the server down (`eprintln!` panics then).
macro_rules! note {
    ($stream:ident, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::$stream(), $($arg)*);
    }};
}

use anyhow::Context as _;

use super::database::Database;
use crate::audit;
use crate::config::Config;
use crate::db::connect_app_pool;
use crate::db::migrate::{self, MigrationSet};

pub(super) async fn run(
    cfg: &Config,
    db: &Database,
    migrator: Option<crate::db::MigratorPool>,
    demo: bool,
) -> anyhow::Result<ExitCode> {
    // The demo is for trying things on one machine: its metrics are open, and on a loopback
    // address (unless an origin is configured) the browser reaches it as
    // `http://localhost:<port>`: a secure context where cookies, the Origin check and
    // passkeys work without TLS.
    // Bound first, so that the demo's origin names the real port (`listen` may say port 0).
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let demo_cfg;
    let cfg = if demo {
        demo_cfg = demo_config(cfg, addr);
        &demo_cfg
    } else {
        cfg
    };
    let roles = cfg.roles();
    let set = &MigrationSet::load(cfg.migrations_dir.as_deref())?;
    if let (true, Some(migrator)) = (cfg.migrate_on_start, &migrator) {
        let report = migrate::run(migrator, &roles, set, cfg.migrate_concurrency).await?;
        for f in &report.failures {
            tracing::error!(tenant = %f.slug, error = %f.error, "tenant migration failed");
        }
    }
    let app = connect_app_pool(cfg, &db.app_url)
        .await
        .context("connecting as the runtime role")?;
    let demo_access = match (&migrator, demo) {
        (Some(migrator), true) => {
            let passwords = crate::identity::Passwords::new(
                cfg.auth.argon2_memory_kib,
                cfg.auth.argon2_iterations,
                cfg.auth.argon2_parallelism,
                cfg.auth.password_min_length,
                1,
            )
            .map_err(|e| anyhow::anyhow!("password settings: {e:?}"))?;
            let version = set.tenant_latest();
            Some(crate::demo::provision(&app, migrator, &db.keyring, version, &passwords).await?)
        }
        _ => None,
    };
    // The request path never holds the migrator role.
    if let Some(migrator) = migrator {
        migrator.close().await;
    }
    let tenant_schema = crate::graphql::build_tenant_schema(&cfg.limits)?;
    let global_schema = crate::graphql::build_global_schema(&cfg.limits)?;
    let interval = std::time::Duration::from_secs(cfg.audit_checkpoint_interval_secs.max(1));
    let state = crate::http::AppState::new(
        app.clone(),
        tenant_schema,
        global_schema,
        db.keyring.clone(),
        cfg,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let anchors = cfg.storage.audit_anchors.then(|| state.blob_store());
    let job = tokio::spawn(audit::job::run(app, db.keyring.clone(), anchors, interval));
    // One signal fans out to the server (stop accepting, drain) and the worker (finish the
    // job under way, take no new one).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let worker = tokio::spawn(
        state
            .worker(cfg.jobs.clone())
            .run_until(stopped(stop_rx.clone())),
    );
    note!(stderr, "tessera listening on http://{addr}");
    if let Some(dir) = cfg.mail.mailbox(&cfg.data_dir) {
        note!(
            stderr,
            "no SMTP relay configured (mail.smtp): outgoing mail is written to {}/, one .eml file per message",
            dir.display()
        );
    }
    if let Some(access) = demo_access {
        let console = if cfg.auth.public_origin.starts_with("http://localhost:") {
            cfg.auth.public_origin.clone()
        } else {
            format!("http://{addr}")
        };
        let built = if crate::http::console_built() {
            ""
        } else {
            " (built without Node.js: it explains how to get the console)"
        };
        note!(
            stdout,
            "Tessera Console: {console}/{built}\n  sign in as {email}\n  password   {password}\n",
            email = access.email,
            password = access.password.expose(),
        );
        note!(
            stdout,
            "Or the API with a token:\n\ncurl -s {console}/w/{slug}/graphql \\\n  -H 'Authorization: Bearer {tok}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"query\":\"{{ projects(first: 10) {{ edges {{ node {{ name team {{ name visibility }} records(first: 3) {{ edges {{ node {{ title status }} }} }} }} }} }} }}\"}}'\n",
            slug = crate::demo::DEMO_SLUG,
            tok = access.token.expose()
        );
    }
    if let Some(metrics_addr) = cfg.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("binding {metrics_addr} (metrics_listen)"))?;
        note!(
            stderr,
            "metrics on http://{}/metrics",
            metrics.local_addr()?
        );
        let router = crate::http::metrics_router(state.clone());
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        });
    }
    let mut server = tokio::spawn(crate::http::serve(listener, state, stopped(stop_rx)));
    tokio::select! {
        () = shutdown_signal() => {}
        ended = &mut server => {
            // The server stopped by itself (an accept error): nothing to drain.
            worker.abort();
            job.abort();
            return match ended {
                Ok(Ok(())) => Ok(ExitCode::SUCCESS),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(anyhow::anyhow!("server task: {e}")),
            };
        }
    }
    let _ = stop_tx.send(true);
    job.abort();
    let grace = std::time::Duration::from_secs(cfg.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        let served = server.await;
        let _ = worker.await;
        served
    })
    .await;
    match drained {
        Ok(Ok(Ok(()))) => tracing::info!("drained; exiting"),
        Ok(Ok(Err(e))) => return Err(e.into()),
        Ok(Err(e)) => return Err(anyhow::anyhow!("server task: {e}")),
        Err(_) => tracing::warn!(
            grace_secs = cfg.shutdown_grace_secs,
            "grace period over with work in flight; exiting (a cut-off job is retried after its lease)"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's configuration: open metrics and, when it listens on loopback and no origin
/// was configured, `http://localhost:<port>` as the browsers' origin (with the plain-HTTP
/// cookie that needs).
fn demo_config(cfg: &Config, addr: std::net::SocketAddr) -> Config {
    let mut demo = cfg.clone();
    demo.metrics_public = true;
    let default_origin = crate::config::Auth::default().public_origin;
    if addr.ip().is_loopback() && cfg.auth.public_origin == default_origin {
        demo.auth.public_origin = format!("http://localhost:{}", addr.port());
        demo.auth.dev_insecure_cookies = true;
    }
    demo
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
