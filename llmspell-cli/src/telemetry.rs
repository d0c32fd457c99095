//! Where spans and metrics go: log lines on stderr (always), OTLP/HTTP
//! span export (when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `telemetry.otlp_endpoint` is set) and a Prometheus endpoint
//! (`--metrics-addr` or `telemetry.metrics_addr`).

use crate::cli::Cli;
use crate::config::{ConfigSource, TelemetrySection};

/// Owns the span exporter; [`shutdown`](Self::shutdown) flushes it.
#[derive(Debug, Default)]
#[must_use]
pub struct Telemetry {
    #[cfg(feature = "telemetry")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    /// Set when the exporter could not be set up (reported once logging
    /// is on).
    problem: Option<String>,
}

/// The OTLP traces URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else
/// the base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, else the config's)
/// plus `/v1/traces`.
fn traces_url(config: &TelemetrySection) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(url) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Some(url);
    }
    let base = env("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| config.otlp_endpoint.clone())?;
    let base = base.trim_end_matches('/');
    Some(if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    })
}

impl Telemetry {
    /// Installs the global subscriber: the log filter (`LLMSPELL_LOG`, else
    /// `--log-level`) applies to the log lines only; the exporter gets
    /// every `llmspell.operation` span. The configuration's `[telemetry]`
    /// is read here; an invalid configuration is reported by the command.
    pub fn init(cli: &Cli) -> Self {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        use tracing_subscriber::{EnvFilter, Layer as _};

        let filter = EnvFilter::try_from_env("LLMSPELL_LOG")
            .unwrap_or_else(|_| EnvFilter::new(cli.log_level.as_str()));
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(crate::output::Output::for_stderr(cli.color).colored())
            .with_filter(filter);
        let section = ConfigSource {
            file: cli.config.clone(),
            dir: None,
        }
        .load()
        .map(|l| l.config.telemetry)
        .unwrap_or_default();
        let mut telemetry = Telemetry::default();
        let registry = tracing_subscriber::registry().with(fmt);
        match traces_url(&section) {
            None => {
                // A second initialisation (not possible here) would only be
                // refused.
                let _ = registry.try_init();
            }
            Some(url) => {
                #[cfg(feature = "telemetry")]
                match otlp(&url, &section) {
                    Ok((provider, layer)) => {
                        let _ = registry.with(layer).try_init();
                        telemetry.provider = Some(provider);
                    }
                    Err(e) => {
                        let _ = registry.try_init();
                        telemetry.problem = Some(format!("OTLP export to {url} is off: {e}"));
                    }
                }
                #[cfg(not(feature = "telemetry"))]
                {
                    let _ = registry.try_init();
                    telemetry.problem = Some(format!(
                        "OTLP export to {url} is off: llmspell was built without the `telemetry` feature"
                    ));
                }
            }
        }
        if let Some(p) = &telemetry.problem {
            tracing::warn!("{p}");
        }
        telemetry
    }

    /// Exports the spans still buffered and stops the exporter. Call it
    /// outside the async runtime (the exporter's HTTP client blocks).
    pub fn shutdown(self) {
        #[cfg(feature = "telemetry")]
        if let Some(p) = self.provider {
            if let Err(e) = p.shutdown() {
                eprintln!("llmspell: flushing OTLP spans failed: {e}");
            }
        }
    }
}

#[cfg(feature = "telemetry")]
#[allow(clippy::type_complexity)]
fn otlp<S>(
    url: &str,
    section: &TelemetrySection,
) -> Result<
    (
        opentelemetry_sdk::trace::SdkTracerProvider,
        Box<dyn tracing_subscriber::Layer<S> + Send + Sync>,
    ),
    String,
>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync,
{
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
    use tracing_subscriber::Layer as _;

    let protocol = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL")
        .ok()
        .unwrap_or_else(|| section.protocol.clone());
    let protocol = match protocol.as_str() {
        "http/protobuf" => Protocol::HttpBinary,
        "http/json" => Protocol::HttpJson,
        other => {
            return Err(format!(
                "the OTLP protocol must be http/protobuf or http/json, got `{other}`"
            ))
        }
    };
    let client = http_client()?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(protocol)
        .with_endpoint(url)
        .build()
        .map_err(|e| e.to_string())?;
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| section.service_name.clone());
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build();
    let tracer = provider.tracer("llmspell");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("llmspell_hooks::telemetry", tracing::Level::INFO),
        );
    Ok((provider, layer.boxed()))
}

/// A blocking client with rustls on the ring provider (given to this
/// client only).
#[cfg(feature = "telemetry")]
fn http_client() -> Result<reqwest::blocking::Client, String> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_platform_verifier()
    .map_err(|e| format!("TLS certificate verifier: {e}"))?
    .with_no_client_auth();
    reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}
