//! `accord serve`: runs the account service ([`crate::service`]) until SIGTERM or
//! Ctrl-C, then stops accepting, finishes the requests and writes in progress, and
//! exits 0.

use std::io::Write;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::Finished;
use crate::cli::ServeArgs;
use crate::error::{Error, Result, exit};
use crate::service::{Service, ServiceOptions, Tokens};
use crate::time::SystemClock;

/// Serves; see the module docs.
///
/// # Errors
/// The tokens file is unusable, the store cannot be opened, or the address cannot be
/// bound.
pub fn run(args: &ServeArgs) -> Result<Finished> {
    let tokens = Tokens::load(&args.tokens).map_err(|e| Error::Refusal(e.to_string()))?;
    if let Some(mode) = crate::service::auth::readable_by_others(&args.tokens) {
        // Printed before the logger's first line, so it is seen even with logs off.
        eprintln!(
            "warning: the tokens file {} can be read by other users (mode {mode:o}): anyone on this machine can take its tokens; run `chmod 600 {}`",
            args.tokens.display(),
            args.tokens.display()
        );
    }
    let token_count = tokens.len();
    let mut options = ServiceOptions::new(&args.db, tokens);
    options.rate_limit = args.rate_limit;
    options.faults = args
        .inject_faults
        .map(|fraction| (fraction, args.fault_seed));
    options.max_body = usize::try_from(args.max_body).unwrap_or(usize::MAX);
    options.request_timeout = args.request_timeout;
    options.connections = crate::service::ConnectionLimits {
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections,
        shutdown_timeout: args.shutdown_timeout,
    };
    let service =
        Service::open(options, Arc::new(SystemClock)).map_err(|source| Error::Backend {
            doing: "cannot open the store",
            url: format!("sqlite:{}", args.db.display()),
            source,
        })?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&args.listen)
            .await
            .map_err(|source| Error::System {
                doing: format!(
                    "cannot listen on {} (choose another address with --listen)",
                    args.listen
                ),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| Error::System {
            doing: "cannot read the bound address".to_owned(),
            source,
        })?;
        // Scripts and tests wait for exactly this line.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on http://{address}");
        let _ = stdout.flush();
        drop(stdout);
        if let Some(fraction) = args.inject_faults {
            tracing::warn!(
                fraction,
                seed = args.fault_seed,
                "FAULT INJECTION IS ON (--inject-faults): requests will fail on purpose; for tests only"
            );
        }
        tracing::info!(
            %address,
            db = %args.db.display(),
            tokens = token_count,
            rate_limit = args.rate_limit,
            "accord serve started"
        );
        service
            .run(listener, terminated())
            .await
            .map_err(|source| Error::System {
                doing: "the service failed".to_owned(),
                source,
            })?;
        tracing::info!("accord serve stopped: every request and write in progress finished");
        Ok(Finished::with(exit::OK))
    })
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: stopping; finishing the requests in progress"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: stopping; finishing the requests in progress"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupted: stopping; finishing the requests in progress");
    }
}
