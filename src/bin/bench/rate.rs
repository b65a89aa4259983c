//! Constant-rate load in the manner of wrk2: requests are sent on a fixed schedule whatever
//! the server's answers, and each latency is counted from the moment the request was due, not
//! from when it was sent. A closed-loop client (wrk, the `load` mode) waits for an answer
//! before its next request, so a stall delays the requests that would have seen it and its
//! p99 leaves them out (coordinated omission); here a stall shows in every request due
//! during it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::percentile;

/// What a constant-rate run measured.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Paced {
    /// Requests per second asked for, and achieved (completed ÷ measured seconds).
    pub(crate) target_rps: f64,
    pub(crate) rps: f64,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    /// Latency from each request's due time, in ms.
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
    /// How far behind schedule the sender itself fell at worst (its own omission, if any).
    pub(crate) sender_lag_ms: f64,
}

/// Runs this binary's `paced` mode in another process: `rate` requests per second to `url`
/// for 2 s of warm-up, then `secs` measured.
pub(crate) fn paced(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    rate: f64,
    secs: u64,
) -> anyhow::Result<Paced> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["paced", url, &serde_json::to_string(body)?])
        .args([format!("{rate}"), secs.to_string()])
        .env("TESSERA_BENCH_TOKEN", token)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "paced load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The `paced` mode: `URL BODY RATE SECONDS`; prints one JSON line.
pub(crate) async fn paced_mode(args: &[String]) -> anyhow::Result<()> {
    let [url, body, rate, secs] = args else {
        anyhow::bail!("paced URL BODY RATE SECONDS");
    };
    let (rate, secs): (f64, u64) = (rate.parse()?, secs.parse()?);
    anyhow::ensure!(rate > 0.0, "the rate is requests per second, above 0");
    let token = std::env::var("TESSERA_BENCH_TOKEN").unwrap_or_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    let send = Sender {
        client,
        url: Arc::from(url.as_str()),
        token: Arc::from(token.as_str()),
        body: Arc::from(body.as_str()),
    };
    send.run(rate, Duration::from_secs(2)).await?;
    let (mut lat, errors, lag, seconds) = send.run(rate, Duration::from_secs(secs)).await?;
    lat.sort_unstable();
    let out = Paced {
        target_rps: rate,
        rps: lat.len() as f64 / seconds.max(f64::EPSILON),
        requests: lat.len() as u64,
        errors,
        p50_ms: percentile(&lat, 0.5),
        p90_ms: percentile(&lat, 0.9),
        p99_ms: percentile(&lat, 0.99),
        p999_ms: percentile(&lat, 0.999),
        max_ms: percentile(&lat, 1.0),
        sender_lag_ms: lag.as_secs_f64() * 1e3,
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

#[derive(Clone)]
struct Sender {
    client: reqwest::Client,
    url: Arc<str>,
    token: Arc<str>,
    body: Arc<str>,
}

impl Sender {
    /// Sends on schedule for `length`, then waits for every answer: the latencies of the
    /// successes (from due time), the errors, the sender's worst lag, and the seconds from
    /// the first due time to the last answer.
    async fn run(
        &self,
        rate: f64,
        length: Duration,
    ) -> anyhow::Result<(Vec<Duration>, u64, Duration, f64)> {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let errors = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let mut lag = Duration::ZERO;
        let mut lat = Vec::new();
        for i in 0u32.. {
            let due = start + interval * i;
            if due >= start + length {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            lag = lag.max(Instant::now().saturating_duration_since(due));
            let (this, errors) = (self.clone(), errors.clone());
            tasks.spawn(async move {
                let ok = this.once().await;
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                ok.then(|| due.elapsed())
            });
            // Reap finished requests as we go, so the set stays small.
            while let Some(done) = tasks.try_join_next() {
                lat.extend(done?);
            }
        }
        while let Some(done) = tasks.join_next().await {
            lat.extend(done?);
        }
        let seconds = start.elapsed().as_secs_f64();
        Ok((lat, errors.load(Ordering::Relaxed), lag, seconds))
    }

    /// One request; whether it succeeded (200 and no GraphQL errors).
    async fn once(&self) -> bool {
        let mut req = self
            .client
            .post(&*self.url)
            .header("content-type", "application/json")
            .body(self.body.to_string());
        if !self.token.is_empty() {
            req = req.bearer_auth(&*self.token);
        }
        match req.send().await {
            Ok(r) if r.status() == 200 => r
                .bytes()
                .await
                .map(|b| !b.windows(9).any(|w| w == b"\"errors\""))
                .unwrap_or(false),
            _ => false,
        }
    }
}
