//! OpenTelemetry traces over OTLP/HTTP (protobuf), when `TESSERA_OTLP_ENDPOINT` is set.
//!
//! Every `tracing` span becomes an OpenTelemetry span: the per-request span carries the
//! method, the path and the request id (`X-Request-Id`), and what runs inside it nests under
//! it. Spans are batched and sent from a background thread; a shutdown flushes them.
//! Requests to the collector use their own HTTP client (the collector is the operator's, not
//! a tenant's, so the outbound address policy does not apply).

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The OTLP endpoint's traces URL: `base` with `/v1/traces` appended unless given.
pub fn traces_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// The exporter's HTTP client: reqwest on the server's runtime, so the batch processor's
/// thread can drive it.
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Client {
    async fn send_bytes(
        &self,
        request: axum::http::Request<axum::body::Bytes>,
    ) -> Result<axum::http::Response<axum::body::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let resp = http.execute(request).await?;
            let mut out = axum::http::Response::builder().status(resp.status());
            if let Some(h) = out.headers_mut() {
                *h = resp.headers().clone();
            }
            let body = resp.bytes().await?;
            Ok::<_, opentelemetry_http::HttpError>(out.body(body)?)
        });
        sent.await?
    }
}

/// A tracer provider exporting to `endpoint`; keep it, and [`shutdown`] it on exit.
pub fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("OTLP client: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Client {
            http,
            runtime: tokio::runtime::Handle::current(),
        })
        .with_endpoint(traces_url(endpoint))
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name("tessera")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The `tracing` layer that records into `provider`.
pub fn layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("tessera"))
}

/// Flushes and stops the exporter (off the async runtime: the flush waits on it).
pub async fn shutdown(provider: SdkTracerProvider) {
    let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    if let Ok(Err(e)) = done {
        eprintln!("OTLP shutdown: {e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_traces_path_is_appended_once() {
        assert_eq!(
            super::traces_url("http://c:4318"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            super::traces_url("http://c:4318/v1/traces/"),
            "http://c:4318/v1/traces"
        );
    }
}
