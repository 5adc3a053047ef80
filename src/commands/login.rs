//! `accord login` and `accord logout`: the vendor login the Team Admin API needs
//! ([`crate::backend::autodesk::login`]), run from the terminal. The URL to open is
//! always printed on standard error; the browser is opened unless `--no-browser` or
//! there is no display. Where the login is kept is said; the token never is.

use std::path::Path;

use super::Finished;
use crate::backend::acc::{BASE_URL_VARIABLE, DEFAULT_BASE_URL};
use crate::backend::autodesk::login::{self, LoggedOut, LoginRequest};
use crate::backend::autodesk::user_token::{
    CLIENT_ID_VARIABLE, CLIENT_SECRET_VARIABLE, REFRESH_TOKEN_FILE_VARIABLE, REFRESH_TOKEN_VARIABLE,
};
use crate::backend::oauth::{Secret, TokenEndpoint};
use crate::cli::{LoginArgs, LogoutArgs};
use crate::contract::BackendError;
use crate::error::{Error, Result, exit};

/// The vendor's base URL: `ACCORD_ACC_BASE_URL` when set, else the vendor's own.
fn base_url() -> String {
    std::env::var(BASE_URL_VARIABLE)
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The command's error: a refusal of the login (declined, another `state`, no
/// answer in time, the app's credentials or code refused) said as it is, anything
/// else (the vendor unreachable, a file that cannot be written) with the vendor's URL.
fn failed(doing: (&'static str, &'static str), base: &str, source: BackendError) -> Error {
    match source {
        BackendError::Unauthorized { detail } => Error::Refusal(format!("{}: {detail}", doing.0)),
        source => Error::Backend {
            doing: doing.1,
            url: base.to_owned(),
            source,
        },
    }
}

/// Runs the login and stores it.
///
/// # Errors
/// The app's credentials are not set, the port is taken, the login is declined,
/// refused or times out, or the login cannot be stored.
pub fn run(args: &LoginArgs) -> Result<Finished> {
    const DOING: (&str, &str) = ("cannot log in", "cannot log in to");
    let base = base_url();
    let missing = |name: &str| {
        failed(
            DOING,
            &base,
            BackendError::Unauthorized {
                detail: format!(
                    "{name} is not set: set {CLIENT_ID_VARIABLE} and {CLIENT_SECRET_VARIABLE} to the client id and secret of the vendor app (a Traditional Web App with the Team Admin API enabled, its callback URL http://127.0.0.1:{}/callback)",
                    args.port
                ),
            },
        )
    };
    let client_id = variable(CLIENT_ID_VARIABLE).ok_or_else(|| missing(CLIENT_ID_VARIABLE))?;
    let client_secret =
        variable(CLIENT_SECRET_VARIABLE).ok_or_else(|| missing(CLIENT_SECRET_VARIABLE))?;
    let path = login::login_file().map_err(|e| failed(DOING, &base, e))?;
    let request = LoginRequest {
        base_url: base.clone(),
        client_id,
        client_secret: Secret::new(client_secret),
        port: args.port,
        timeout: args.timeout,
    };
    let browser = !args.no_browser && has_display();
    let caller = login::token_caller();
    let stored = super::runtime()?
        .block_on(login::login(&request, &caller, |url| {
            eprintln!(
                "To log in, open this URL in a browser and sign in as a team admin:\n\n  {url}\n"
            );
            if browser {
                match webbrowser::open(url) {
                    Ok(()) => eprintln!("(opened in your browser; waiting for it to come back)"),
                    Err(e) => eprintln!("(could not open a browser: {e}; open the URL yourself)"),
                }
            } else {
                eprintln!(
                    "(waiting for the browser to come back to http://127.0.0.1:{}/callback)",
                    args.port
                );
            }
        }))
        .map_err(|e| failed(DOING, &base, e))?;
    stored.write(&path).map_err(|e| {
        failed(
            ("cannot keep the login", "cannot keep the login from"),
            &base,
            e,
        )
    })?;
    println!(
        "logged in: the refresh token is kept in {} (readable by you only; accord replaces it on every refresh)",
        path.display()
    );
    eprintln!(
        "For CI, store the file's refresh_token in the {REFRESH_TOKEN_VARIABLE} secret and set {REFRESH_TOKEN_FILE_VARIABLE} so the pipeline can store the new one back after each run; then do not use this login elsewhere (each refresh token works once)."
    );
    Ok(Finished::with(exit::OK))
}

/// Deletes the stored login, revoking it at the vendor unless `--no-revoke`.
///
/// # Errors
/// The login cannot be deleted.
pub fn logout(args: &LogoutArgs) -> Result<Finished> {
    const DOING: (&str, &str) = ("cannot log out", "cannot log out of");
    let base = base_url();
    let path = login::login_file().map_err(|e| failed(DOING, &base, e))?;
    let endpoint = match (
        args.no_revoke,
        variable(CLIENT_ID_VARIABLE),
        variable(CLIENT_SECRET_VARIABLE),
    ) {
        (false, Some(id), Some(secret)) => Some(
            TokenEndpoint::with_own_client(&base, &id, Secret::new(secret))
                .map_err(|e| failed(DOING, &base, e))?,
        ),
        _ => None,
    };
    let caller = login::token_caller();
    let outcome = super::runtime()?
        .block_on(login::logout(&path, endpoint.as_ref(), &caller))
        .map_err(|e| failed(DOING, &base, e))?;
    report(&path, &outcome, args.no_revoke);
    Ok(Finished::with(exit::OK))
}

fn report(path: &Path, outcome: &LoggedOut, no_revoke: bool) {
    match outcome {
        LoggedOut::NotLoggedIn => {
            println!(
                "not logged in (no login at {}): nothing to do",
                path.display()
            );
        }
        LoggedOut::Removed { revoked: Ok(()) } => println!(
            "logged out: deleted {} and revoked its refresh token at the vendor",
            path.display()
        ),
        LoggedOut::Removed { revoked: Err(why) } => {
            if !no_revoke {
                tracing::warn!("{why}");
                eprintln!("warning: {why}");
            }
            println!("logged out: deleted {}", path.display());
        }
    }
}

/// Whether a browser can be shown: on Linux and the BSDs only with a display (X11
/// or Wayland) or a `BROWSER` the user chose; elsewhere always.
fn has_display() -> bool {
    if cfg!(all(unix, not(target_os = "macos"))) {
        ["DISPLAY", "WAYLAND_DISPLAY", "BROWSER"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
    } else {
        true
    }
}
