//! `accord show`: who has what, from the configuration and the live account.

use std::io::Write;

use super::Finished;
use crate::backend::{BackendUrl, OpenOptions};
use crate::cli::{ListFormat, ShowArgs, ShowKind};
use crate::error::{Error, Result, exit};
use crate::pipeline;
use crate::show::{self, Kind, Live};
use crate::state::State;

/// Loads the configuration, reads the live account when there is one, and prints
/// the answer.
///
/// # Errors
/// An invalid configuration, or a name it does not declare ([`Error::NotFound`]).
pub fn run(args: &ShowArgs) -> Result<Finished> {
    let checked =
        crate::config::schema::load_and_check(&args.config.path, &args.config.load_options())
            .map_err(Error::Invalid)?;
    let url = &args.backend.backend;
    let shown_url = crate::backend::http::shown_url(url);
    let (state, source) = live_state(args, &checked.config, &shown_url);
    let live = state.as_ref().map(|state| Live {
        state,
        backend: &shown_url,
    });
    let shown = show::show(
        &checked.config,
        &checked.sources,
        kind(args.kind),
        &args.name,
        live,
        &source,
    )
    .map_err(|unknown| Error::NotFound(unknown.to_string()))?;
    let text = match args.format {
        ListFormat::Text => shown.text(),
        ListFormat::Json => serde_json::to_string_pretty(&shown).unwrap_or_default() + "\n",
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(Finished::with(exit::OK).keeping(checked).keeping(state))
}

fn kind(kind: ShowKind) -> Kind {
    match kind {
        ShowKind::Member => Kind::Member,
        ShowKind::Product => Kind::Product,
        ShowKind::Agreement => Kind::Agreement,
        ShowKind::Team => Kind::Team,
    }
}

/// The live account to compare with, or why there is none (said in the output):
/// `--offline`, no store at the path, an unreachable backend, another account.
fn live_state(
    args: &ShowArgs,
    config: &crate::config::ConfigFile,
    shown_url: &str,
) -> (Option<State>, String) {
    let offline = |why: String| (None, format!("configuration only: {why}"));
    if args.offline {
        return offline("--offline".to_owned());
    }
    let url = &args.backend.backend;
    if let Ok(BackendUrl::Sqlite(path)) = crate::backend::parse_url(url) {
        if !path.exists() {
            return offline(format!(
                "there is no store at {} (--backend)",
                path.display()
            ));
        }
    }
    let fetched = super::runtime().and_then(|runtime| {
        runtime.block_on(async {
            let backend = pipeline::open(url, &OpenOptions::default()).await?;
            pipeline::fetch(backend.as_ref()).await
        })
    });
    match fetched {
        Err(error) => offline(format!("the backend cannot be read ({error})")),
        Ok(snapshot) => {
            let configured = config.account.as_ref().map_or("", |a| a.id.as_str());
            let held = snapshot.state.account.id.as_str();
            if !held.is_empty() && held != configured {
                return offline(format!(
                    "{shown_url} holds the account {held}, not {configured}"
                ));
            }
            (Some(snapshot.state), shown_url.to_owned())
        }
    }
}
