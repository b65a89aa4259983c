//! `bench export`: rows per second and peak memory of a workspace export.

use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;
use tessera::tenancy::{self, Access, Slug};

use crate::common::*;

/// Exports a workspace of `records` records (each with a title, a body and custom fields)
/// into a sink: rows per second and the process's peak RSS.
pub(crate) async fn export_scenario(records: i64) -> anyhow::Result<serde_json::Value> {
    let b = Bench::setup(4).await?;
    let result = async {
        b.tenant("bench_export").await?;
        let t0 = Instant::now();
        sqlx::raw_sql(&format!(
            "SET search_path = tenant_bench_export;
             INSERT INTO teams (id, name, visibility) VALUES ('00000000-0000-0000-0000-000000000001', 'Core', 'open');
             INSERT INTO projects (id, team_id, name)
                 SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(i), 12, '0'))::uuid,
                        '00000000-0000-0000-0000-000000000001', 'Project ' || i
                 FROM generate_series(1, 100) i;
             INSERT INTO records (id, project_id, title, body, status, fields)
                 SELECT gen_random_uuid(),
                        ('00000000-0000-0000-0001-' || lpad(to_hex(1 + i % 100), 12, '0'))::uuid,
                        'Record ' || i, 'A record body of moderate length, number ' || i,
                        (ARRAY['open', 'in_progress', 'done'])[1 + i % 3],
                        jsonb_build_object('estimate', i % 13, 'label', 'l' || (i % 7))
                 FROM generate_series(1, {records}) i;"
        ))
        .execute(&b.migrator)
        .await?;
        println!("loaded {records} records in {:.1} s", t0.elapsed().as_secs_f64());
        let slug = Slug::parse("bench_export")?;
        let (_, rss_before) = rss_mib();
        let mut tx = tenancy::begin(&b.app, &slug, Access::Snapshot)
            .await?
            .context("bench tenant")?;
        let mut sink = CountingSink::default();
        let t1 = Instant::now();
        let manifest = tessera::export::write(&mut tx, &b.keyring, &mut sink).await?;
        let secs = t1.elapsed().as_secs_f64();
        tx.rollback().await?;
        let rows: u64 = manifest.counts.values().sum();
        let (peak, _) = rss_mib();
        println!(
            "export: {rows} rows, {:.1} MiB in {secs:.2} s = {:.0} rows/s; peak RSS {peak:.1} MiB (before {rss_before:.1} MiB)",
            sink.bytes as f64 / 1048576.0,
            rows as f64 / secs
        );
        Ok::<_, anyhow::Error>(json!({
            "records": records, "rows": rows, "bytes": sink.bytes, "seconds": secs,
            "rows_per_s": rows as f64 / secs, "peak_rss_mib": peak, "rss_before_mib": rss_before,
        }))
    }
    .await;
    b.teardown().await?;
    result
}

/// An `AsyncWrite` that counts and discards.
#[derive(Default)]
pub(crate) struct CountingSink {
    pub(crate) bytes: u64,
}

impl tokio::io::AsyncWrite for CountingSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.bytes += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
