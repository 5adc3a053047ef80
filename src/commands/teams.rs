//! `accord teams`: the teams a backend holds, with their pools.

use std::io::Write;

use super::Finished;
use crate::backend::OpenOptions;
use crate::cli::{ListFormat, TeamsArgs};
use crate::error::{Result, exit};
use crate::pipeline;

/// Reads the backend and prints its teams.
///
/// # Errors
/// An unreachable or unreadable backend, a refused login.
pub fn run(args: &TeamsArgs) -> Result<Finished> {
    let runtime = super::runtime()?;
    let (listing, snapshot) = runtime.block_on(async {
        let backend = pipeline::open(&args.backend.backend, &OpenOptions::default()).await?;
        let snapshot = pipeline::fetch(backend.as_ref()).await?;
        let listing = crate::teams::listing(&backend.url(), &snapshot.state, snapshot.now);
        Ok::<_, crate::error::Error>((listing, snapshot))
    })?;
    let text = match args.format {
        // Team and product names are the vendor's, as stored there.
        ListFormat::Text => crate::text::shown(&listing.text()).into_owned(),
        ListFormat::Json => serde_json::to_string_pretty(&listing).unwrap_or_default() + "\n",
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(Finished::with(exit::OK).keeping(snapshot))
}
