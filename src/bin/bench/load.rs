//! Load generation: wrk or this binary's own `load` mode in a second process, and pgbench.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::common::*;

/// What a load run measured.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Load {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) seconds: f64,
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// The slowest successful request (the built-in generator; wrk reports none).
    #[serde(default)]
    pub(crate) max_ms: f64,
    /// Failed requests of the warm-up (the first visit to each target), not in `errors`
    /// (the built-in generator).
    #[serde(default)]
    pub(crate) warmup_errors: u64,
    /// CPU time per request over the measured window, by process group.
    #[serde(default)]
    pub(crate) cpu: Option<crate::cpu::PerRequest>,
}

/// Which load generator drives the HTTP scenarios: wrk when installed (a C client, far
/// lighter per request than any Rust HTTP client, so less of the two cores goes to the
/// load), else this binary's own `load` mode. `TESSERA_BENCH_LOAD=builtin` forces the latter.
pub(crate) fn load_generator() -> &'static str {
    let forced = std::env::var("TESSERA_BENCH_LOAD").ok();
    let has_wrk = || {
        std::process::Command::new("wrk")
            .arg("--version")
            .output()
            .is_ok()
    };
    if forced.as_deref() != Some("builtin") && has_wrk() {
        "wrk"
    } else {
        "builtin"
    }
}

/// Drives `url` (or, for `@file`, the `url<TAB>token<TAB>body` lines of the file, round-robin)
/// from another process: `concurrency` keep-alive connections, 2 s of warm-up excluded, then
/// `secs` measured seconds.
pub(crate) fn load_from_another_process(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<Load> {
    if load_generator() == "wrk" {
        return wrk(url, token, body, concurrency, secs);
    }
    builtin(url, token, body, concurrency, secs)
}

/// This binary's `load` mode in a separate process.
pub(crate) fn builtin(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<Load> {
    builtin_until(url, token, body, concurrency, secs, None)
}

/// [`builtin`], measuring until `stop_file` exists (`secs` at most) when one is given.
pub(crate) fn builtin_until(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    concurrency: usize,
    secs: u64,
    stop_file: Option<&std::path::Path>,
) -> anyhow::Result<Load> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args([
        "load",
        url,
        &serde_json::to_string(body)?,
        &concurrency.to_string(),
        &secs.to_string(),
    ]);
    if let Some(stop) = stop_file {
        cmd.arg(stop);
    }
    let out = cmd.env("TESSERA_BENCH_TOKEN", token).output()?;
    anyhow::ensure!(
        out.status.success(),
        "load generator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// [`load_from_another_process`] with wrk and `bench/wrk.lua`.
pub(crate) fn wrk(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<Load> {
    let lines = match url.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)?,
        None => format!("{url}\t{token}\t{}\n", serde_json::to_string(body)?),
    };
    // wrk takes one base URL; each target keeps its path.
    let mut base = None;
    let mut targets = String::with_capacity(lines.len());
    for line in lines.lines() {
        let mut f = line.splitn(3, '\t');
        let (Some(u), Some(tok), Some(b)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let u: url::Url = u.parse()?;
        base.get_or_insert_with(|| u.origin().ascii_serialization());
        targets.push_str(&format!("{}\t{tok}\t{b}\n", u.path()));
    }
    let base = base.context("no targets")?;
    let file = std::env::temp_dir().join(format!("tessera-wrk-{}.tsv", uuid::Uuid::new_v4()));
    std::fs::write(&file, targets)?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/wrk.lua");
    let threads = concurrency.clamp(1, 2);
    let run = |secs: u64| -> anyhow::Result<Load> {
        let out = std::process::Command::new("wrk")
            .args(["-t", &threads.to_string(), "-c", &concurrency.to_string()])
            .args(["-d", &format!("{secs}s"), "--timeout", "10s", "-s"])
            .arg(&script)
            .arg(&base)
            .env("TARGETS", &file)
            .env("THREADS", threads.to_string())
            .output()
            .context("wrk (apt-get install wrk)")?;
        let text = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "wrk failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = text
            .lines()
            .find(|l| l.starts_with('{'))
            .context("wrk printed no result")?;
        let load: Load = serde_json::from_str(line)?;
        if load.errors > 0 {
            // wrk's own error counts and the script's samples of error responses.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let details = text
                .lines()
                .filter(|l| l.contains("errors:") || l.contains("Non-2xx"));
            for l in details.chain(stderr.lines().take(6)) {
                println!("  wrk: {}", l.trim());
            }
        }
        Ok(load)
    };
    // Warm-up: with many targets, one full cycle over them first (by the built-in generator,
    // which can stop after a cycle; wrk runs for a fixed time), so the measured run sees every
    // workspace after its first visit (steady state, not first-touch cost); then 2 s of wrk.
    let cycle = if lines.lines().count() > 1 {
        builtin(url, token, body, concurrency, 0).map(|_| ())
    } else {
        Ok(())
    };
    // The server is this process; CPU is read around the measured run only.
    let measured = cycle.and_then(|_| run(2)).and_then(|_| {
        let before = crate::cpu::snapshot(std::process::id());
        let mut load = run(secs)?;
        let after = crate::cpu::snapshot(std::process::id());
        load.cpu = crate::cpu::per_request(&before, &after, load.requests);
        Ok(load)
    });
    let _ = std::fs::remove_file(&file);
    measured
}

/// The `load` mode: `concurrency` clients POST `body` (or the targets of an `@file`) for a
/// warm-up, then `secs` measured seconds; prints one JSON line.
pub(crate) async fn load(args: &[String]) -> anyhow::Result<()> {
    let (url, body, concurrency, secs, stop_file) = match args {
        [url, body, concurrency, secs] => (url, body, concurrency, secs, None),
        [url, body, concurrency, secs, stop] => (url, body, concurrency, secs, Some(stop)),
        _ => anyhow::bail!("load URL BODY CONCURRENCY SECONDS [STOP-FILE]"),
    };
    // `@file`: round-robin over its lines, `url<TAB>token<TAB>body`.
    let targets: Vec<(String, String, String)> = match url.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(3, '\t');
                Some((
                    f.next()?.to_owned(),
                    f.next()?.to_owned(),
                    f.next()?.to_owned(),
                ))
            })
            .collect(),
        None => vec![(
            url.clone(),
            std::env::var("TESSERA_BENCH_TOKEN").unwrap_or_default(),
            body.clone(),
        )],
    };
    anyhow::ensure!(!targets.is_empty(), "no targets");
    let targets = std::sync::Arc::new(targets);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (concurrency, secs): (usize, u64) = (concurrency.parse()?, secs.parse()?);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    // Warm-up: 2 s and, with many targets, one full cycle over them (steady state, not
    // first-touch cost); then `secs` measured.
    let start = Instant::now();
    let len = targets.len();
    let (_, warmup_errors) = drive(&client, &targets, &next, concurrency, move |now, issued| {
        now >= start + Duration::from_secs(2) && (len == 1 || issued >= len)
    })
    .await?;
    // With a stop file: measured until the file exists (checked every 10 ms), `secs` at most.
    // The server is the process that started this one; CPU is read around the measured part.
    let server = std::os::unix::process::parent_id();
    let cpu_before = crate::cpu::snapshot(server);
    let measured = Instant::now();
    let until = measured + Duration::from_secs(secs);
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(path) = stop_file.cloned() {
        let stopped = stopped.clone();
        // A bench that was interrupted never writes the file: stop when it is gone too.
        let parent = std::os::unix::process::parent_id();
        tokio::spawn(async move {
            while !std::path::Path::new(&path).exists()
                && std::os::unix::process::parent_id() == parent
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stopped.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let (mut lat, errors) = drive(&client, &targets, &next, concurrency, move |now, _| {
        now >= until || stopped.load(std::sync::atomic::Ordering::Relaxed)
    })
    .await?;
    let cpu_after = crate::cpu::snapshot(server);
    lat.sort_unstable();
    let seconds = measured.elapsed().as_secs_f64();
    let out = Load {
        cpu: crate::cpu::per_request(&cpu_before, &cpu_after, lat.len() as u64),
        requests: lat.len() as u64,
        errors,
        seconds,
        rps: if seconds > 0.0 {
            lat.len() as f64 / seconds
        } else {
            0.0
        },
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        max_ms: percentile(&lat, 1.0),
        warmup_errors,
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// `concurrency` clients sending `targets` round-robin (the shared `next` counter) until
/// `done(now, requests issued so far)`: the latencies of successful requests and the errors.
pub(crate) async fn drive(
    client: &reqwest::Client,
    targets: &std::sync::Arc<Vec<(String, String, String)>>,
    next: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    concurrency: usize,
    done: impl Fn(Instant, usize) -> bool + Clone + Send + 'static,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let issued_from = next.load(std::sync::atomic::Ordering::Relaxed);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, targets, next, done) =
            (client.clone(), targets.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            loop {
                let t0 = Instant::now();
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if done(t0, n - issued_from) {
                    break;
                }
                let (url, token, body) = &targets[n % targets.len()];
                let mut req = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if !token.is_empty() {
                    req = req.bearer_auth(token);
                }
                let ok = match req.send().await {
                    Ok(r) if r.status() == 200 => r
                        .bytes()
                        .await
                        .map(|b| !b.windows(9).any(|w| w == b"\"errors\""))
                        .unwrap_or(false),
                    _ => false,
                };
                if ok {
                    lat.push(t0.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    Ok((lat, errors))
}

/// `pgbench` over `script` at `clients` connections for `secs` seconds (after a 2 s warm-up
/// run), every statement prepared: transactions per second and average latency in ms.
pub(crate) fn pgbench(
    url: &str,
    script: &str,
    clients: usize,
    secs: u64,
) -> anyhow::Result<(f64, f64)> {
    pgbench_measured(url, script, clients, secs).map(|run| (run.tps, run.latency_ms))
}

/// What a pgbench run measured, with the CPU time each transaction cost over its measured
/// window (PostgreSQL's, and the machine's: pgbench is the rest).
pub(crate) struct PgRun {
    pub(crate) tps: f64,
    pub(crate) latency_ms: f64,
    pub(crate) cpu: Option<crate::cpu::PerRequest>,
}

/// [`pgbench`], with the CPU time per transaction.
pub(crate) fn pgbench_measured(
    url: &str,
    script: &str,
    clients: usize,
    secs: u64,
) -> anyhow::Result<PgRun> {
    let path = std::env::temp_dir().join(format!("tessera-bench-{}.sql", uuid::Uuid::new_v4()));
    std::fs::write(&path, script)?;
    // The CPU window sits inside the measured run, a second in from each end: pgbench's
    // backends exit with it, and a backend gone before the second reading would take its
    // time with it.
    type Window = (crate::cpu::Snapshot, crate::cpu::Snapshot, f64);
    let run = |secs: u64| -> anyhow::Result<(String, Option<Window>)> {
        let child = std::process::Command::new("pgbench")
            .args(["-n", "-M", "prepared", "-j", "2", "-c"])
            .arg(clients.to_string())
            .arg("-T")
            .arg(secs.to_string())
            .arg("-f")
            .arg(&path)
            .arg(url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("pgbench (apt-get install postgresql-client)")?;
        let window = (secs >= 3).then(|| {
            std::thread::sleep(Duration::from_secs(1));
            let (before, t0) = (crate::cpu::snapshot(std::process::id()), Instant::now());
            std::thread::sleep(Duration::from_secs(secs - 2));
            let after = crate::cpu::snapshot(std::process::id());
            (before, after, t0.elapsed().as_secs_f64())
        });
        let out = child.wait_with_output()?;
        anyhow::ensure!(
            out.status.success(),
            "pgbench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), window))
    };
    run(2)?;
    let measured = run(secs);
    let _ = std::fs::remove_file(&path);
    let (text, window) = measured?;
    let number = |prefix: &str| -> anyhow::Result<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .context("pgbench output")?
            .parse()
            .context("pgbench number")
    };
    let tps = number("tps = ")?;
    // Transactions in the window at the run's rate: pgbench reports only the whole run's.
    let cpu = window.and_then(|(before, after, seconds)| {
        crate::cpu::per_request(&before, &after, (tps * seconds).round() as u64)
    });
    Ok(PgRun {
        tps,
        latency_ms: number("latency average = ")?,
        cpu,
    })
}

/// Sends `body` once and checks that it answers data without errors.
pub(crate) async fn probe(
    url: &str,
    token: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut req = reqwest::Client::new().post(url).json(body);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    let v: serde_json::Value = req.send().await?.json().await?;
    anyhow::ensure!(
        v.get("errors").is_none() && v.get("data").is_some(),
        "{url}: {v}"
    );
    Ok(v)
}
