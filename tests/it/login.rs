//! `accord login` / `accord logout` through the binary, against a fake of the
//! vendor's OAuth endpoints ([`oauth`]): the test plays the browser by following
//! the URL accord prints. And the three-legged tokens' rotation through the library.

mod oauth;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use accord::backend::autodesk::user_token::{Origin, Settings, UserTokens};
use accord::backend::oauth::Secret;
use oauth::{CLIENT_ID, CLIENT_SECRET, FakeOAuth};

/// A free port on 127.0.0.1 (bound and let go: the login binds it again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `accord` with the fake as the vendor, `config` as its configuration directory,
/// and nothing of the machine's own login or display.
fn accord(fake: &FakeOAuth, config: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("accord"));
    cmd.env("NO_COLOR", "1")
        .env("ACCORD_ACC_BASE_URL", &fake.url)
        .env("ACCORD_CONFIG_DIR", config)
        .env("APS_CLIENT_ID", CLIENT_ID)
        .env("APS_CLIENT_SECRET", CLIENT_SECRET)
        .env_remove("APS_REFRESH_TOKEN")
        .env_remove("ACCORD_REFRESH_TOKEN_FILE")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("BROWSER")
        .env_remove("RUST_LOG");
    cmd
}

/// A running `accord login`, its printed URL, and its standard error as it comes.
struct Login {
    child: Child,
    url: String,
    port: u16,
    stderr: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Login {
    /// Starts `accord login --no-browser --port P` (P registered with the fake) and
    /// waits for the URL it prints.
    fn start(fake: &FakeOAuth, config: &Path, extra: &[&str]) -> Self {
        let port = free_port();
        fake.register(&format!("http://127.0.0.1:{port}/callback"));
        let mut child = accord(fake, config)
            .args(["login", "--no-browser", "--port", &port.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let all = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let line = line.unwrap();
                if line.trim_start().starts_with("http") && line.contains("/authorize") {
                    let _ = url_tx.send(line.trim().to_owned());
                }
                let mut all = all.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no URL printed: {}", stderr.lock().unwrap()));
        Self {
            child,
            url,
            port,
            stderr,
            reader,
        }
    }

    /// Waits for accord to end: (exit code, stdout, stderr).
    fn finish(mut self) -> (i32, String, String) {
        let mut stdout = String::new();
        std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code().unwrap_or(-1), stdout, stderr)
    }
}

fn login_file(config: &Path) -> PathBuf {
    config.join("login.json")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn login_in_the_browser_keeps_an_owner_only_refresh_token_and_logout_forgets_it() {
    let fake = FakeOAuth::start();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("accord");
    let login = Login::start(&fake, &config, &[]);
    assert!(
        login
            .url
            .starts_with(&format!("{}/authentication/v2/authorize?", fake.url))
    );

    // The browser: the vendor's page redirects to accord's listener, which answers.
    let page = reqwest::get(&login.url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.url().as_str().split('?').next().unwrap(),
        format!("http://127.0.0.1:{}/callback", login.port)
    );
    let text = page.text().await.unwrap();
    assert!(text.contains("close this tab"), "{text}");

    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let path = login_file(&config);
    assert!(stdout.contains(&path.display().to_string()), "{stdout}");
    assert_eq!(fake.state().grants.get("authorization_code"), Some(&1));

    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let token = stored["refresh_token"].as_str().unwrap().to_owned();
    assert!(
        fake.state().live_refresh_tokens.contains(&token),
        "{stored}"
    );
    assert_eq!(stored["client_id"], CLIENT_ID);
    assert_eq!(stored["scopes"], oauth::SCOPES);
    assert!(
        stored["obtained_at"].as_str().unwrap().ends_with('Z'),
        "{stored}"
    );
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains(&token), "the token was printed: {shown}");
        assert!(
            !shown.contains(CLIENT_SECRET),
            "the secret was printed: {shown}"
        );
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&config), 0o700);
    }

    // Logging out revokes the token and deletes the file; again is no error.
    let out = accord(&fake, &config).arg("logout").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("logged out") && stdout.contains("revoked"),
        "{stdout}"
    );
    assert!(!path.exists());
    assert!(fake.state().revoked.contains(&token));
    let again = accord(&fake, &config).arg("logout").output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("not logged in"));
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused_and_nothing_is_stored() {
    let fake = FakeOAuth::start();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("accord");
    let login = Login::start(&fake, &config, &[]);
    // A forged callback: a code, but not this login's state.
    let forged = format!(
        "http://127.0.0.1:{}/callback?code=stolen&state=not-this-one",
        login.port
    );
    let page = reqwest::get(&forged).await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("state does not match"));
    let (code, _, stderr) = login.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`state` is not this login's"), "{stderr}");
    assert!(!login_file(&config).exists());
    assert_eq!(
        fake.state().grants.get("authorization_code"),
        None,
        "no exchange"
    );
}

#[tokio::test]
async fn a_declined_login_says_so() {
    let fake = FakeOAuth::start();
    fake.state().deny = true;
    let home = tempfile::tempdir().unwrap();
    let login = Login::start(&fake, home.path(), &[]);
    let page = reqwest::get(&login.url).await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("declined"));
    let (code, _, stderr) = login.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("declined (access_denied)"), "{stderr}");
    assert!(!login_file(home.path()).exists());
}

#[test]
fn a_login_nobody_answers_times_out() {
    let fake = FakeOAuth::start();
    let home = tempfile::tempdir().unwrap();
    let login = Login::start(&fake, home.path(), &["--timeout", "1s"]);
    let (code, _, stderr) = login.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no answer from the browser within 1s"),
        "{stderr}"
    );
}

#[test]
fn login_without_the_apps_credentials_says_what_to_set() {
    let fake = FakeOAuth::start();
    let home = tempfile::tempdir().unwrap();
    let out = accord(&fake, home.path())
        .env_remove("APS_CLIENT_SECRET")
        .args(["login", "--no-browser", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("APS_CLIENT_SECRET is not set"), "{stderr}");
    let usage = accord(&fake, home.path())
        .args(["login", "--port", "many"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(64));
}

#[tokio::test]
async fn every_refresh_rotates_the_refresh_token_into_the_file_and_the_old_one_is_refused() {
    let fake = FakeOAuth::start();
    fake.state().access_lifetime = 1;
    let first = fake.state().issue_refresh_token();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refresh-token");
    let settings = |token: &str| Settings {
        base_url: fake.url.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        refresh_token: Secret::new(token),
        origin: Origin::Environment,
        export_file: Some(file.clone()),
    };
    let caller = accord::backend::autodesk::login::token_caller();
    let tokens = UserTokens::new(settings(&first), Arc::clone(&caller)).unwrap();

    let a = tokens.access_token().await.unwrap();
    let second = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_ne!(second, first);
    assert!(fake.state().live_refresh_tokens.contains(&second));
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    assert_eq!(tokens.access_token().await.unwrap(), a, "cached");

    // Past its expiry (less the margin), a new access token and a new refresh token.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let b = tokens.access_token().await.unwrap();
    assert_ne!(a, b);
    let third = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_ne!(third, second);
    {
        let state = fake.state();
        assert!(state.used_refresh_tokens.contains(&first));
        assert!(state.used_refresh_tokens.contains(&second));
        assert_eq!(state.grants.get("refresh_token"), Some(&2));
    }

    // The first refresh token is spent: the vendor refuses it, and accord says why.
    let stale = UserTokens::new(settings(&first), caller).unwrap();
    let error = stale.access_token().await.unwrap_err().to_string();
    assert!(error.contains("used already"), "{error}");
    assert!(
        !error.contains(&first) && !error.contains(CLIENT_SECRET),
        "{error}"
    );
}
