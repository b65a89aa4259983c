//! The `tessera` binary: parses the command line and runs it (see [`tessera::cli`]).

use clap::Parser;

/// mimalloc: GraphQL execution allocates per field, and glibc malloc spent a quarter of a
/// nested list request's time (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tessera::install_crypto_provider();
    let cli = tessera::cli::Cli::parse();
    let traces = tessera::observability::init();
    let code = match tessera::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    };
    if let Some(provider) = traces {
        tessera::observability::traces::shutdown(provider).await;
    }
    code
}
