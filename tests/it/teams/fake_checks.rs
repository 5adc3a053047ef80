//! The Team Admin fake behaves as the fact sheet says: checked with plain HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::fake::{
    ADMIN_EMAIL, ADMIN_ID, CLIENT_ID, CLIENT_SECRET, DOMAIN, Fake, Fault, FaultKind, FaultTime,
    Inherited, Login, OtherClient, PROBLEMS, Pool, Role, SCOPES, Setup, TEAM_READ, USERS_READ,
};

const TEAM: &str = "100001";
const OTHER_TEAM: &str = "100002";
const FOREIGN: &str = "100003";
const INELIGIBLE: &str = "100004";

/// Limited to 3 seats.
const ACAD: &str = "prod_acad";
const REVIT: &str = "prod_revit_unlimited";
const CIVIL: &str = "prod_civil_future";
const HIDDEN: &str = "prod_hidden";

/// Acme: users `user0001..3@acme.example`, pools of `AutoCAD` (3 seats: user0001 direct,
/// user0002 through a group), Revit (unlimited: user0003 through the team), Civil
/// (future), a hidden one (user0001 holds it); a second team of the admin's, a team
/// of someone else's, an ineligible team.
fn acme() -> Setup {
    Setup::new()
        .team(TEAM, "Acme Design")
        .domain(DOMAIN)
        .users(3)
        .pool(
            Pool::limited(ACAD, "AutoCAD", 3)
                .dates("2026-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z"),
        )
        .pool(Pool::unlimited(REVIT, "Revit"))
        .pool(Pool::limited(CIVIL, "Civil 3D", 5).future())
        .pool(Pool::limited(HIDDEN, "Hidden", 5).hidden())
        .direct("user0001@acme.example", ACAD)
        .inherited("user0002@acme.example", ACAD, Inherited::Group)
        .inherited("user0003@acme.example", REVIT, Inherited::Team)
        .direct("user0001@acme.example", HIDDEN)
        .team(OTHER_TEAM, "Acme Build")
        .users(1)
        .pool(Pool::limited(ACAD, "AutoCAD", 1))
        .foreign_team(FOREIGN, "Not Acme")
        .team(INELIGIBLE, "Acme Education")
        .ineligible()
}

/// An HTTP answer: status, headers, the body as JSON (`Null` when empty).
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// The problem's type after `.../problems/`.
    fn problem(&self) -> &str {
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.body
        );
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix(PROBLEMS))
            .and_then(|t| t.strip_prefix('/'))
            .unwrap_or_default()
    }

    fn number(&self, name: &str) -> u64 {
        self.header(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {:?}", self.headers))
    }
}

/// A caller of the Team Admin API with one bearer token.
struct Api<'a> {
    fake: &'a Fake,
    http: reqwest::Client,
    token: String,
}

impl<'a> Api<'a> {
    fn new(fake: &'a Fake, token: &str) -> Self {
        Self {
            fake,
            http: reqwest::Client::new(),
            token: token.to_owned(),
        }
    }

    /// The admin, logged in with the six scopes.
    fn admin(fake: &'a Fake) -> Self {
        let tokens = fake.login();
        Self::new(fake, &tokens.access)
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.try_send(method, path, body, &[])
            .await
            .expect("an answer")
    }

    async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Result<Answer> {
        let mut request = self
            .http
            .request(method, self.fake.api(path))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    async fn assign(&self, team: &str, user: &str, product: &str) -> Answer {
        self.post(
            &format!("/teams/{team}/assignments"),
            json!({"userId": user, "productId": product}),
        )
        .await
    }

    async fn unassign(&self, team: &str, user: &str, product: &str) -> Answer {
        self.delete(&format!(
            "/teams/{team}/assignments?userId={user}&productId={product}"
        ))
        .await
    }
}

/// The id of the user `email`.
fn id_of(fake: &Fake, email: &str) -> String {
    fake.state()
        .person_by_email(email)
        .expect("a person")
        .id
        .clone()
}

/// Sleeps until 50 ms into the next window of `minute`.
async fn next_window(minute: Duration) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let minute = minute.as_millis();
    let wait = minute - now % minute + 50;
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap())).await;
}

/// POST token with Basic client authentication.
async fn token(fake: &Fake, form: &[(&str, &str)]) -> Answer {
    let response = reqwest::Client::new()
        .post(format!("{}/authentication/v2/token", fake.url))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_the_cursor_and_limit_is_1_to_100() {
    let fake = Setup::new().team(TEAM, "Big").users(120).start();
    let api = Api::admin(&fake);
    let first = api.get(&format!("/teams/{TEAM}/users?limit=100")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["data"].as_array().unwrap().len(), 100);
    assert_eq!(first.body["pagination"]["hasMore"], true);
    let cursor = first.body["pagination"]["cursor"].as_str().unwrap();
    let last = api
        .get(&format!("/teams/{TEAM}/users?limit=100&cursor={cursor}"))
        .await;
    // 120 users and the admin.
    assert_eq!(last.body["data"].as_array().unwrap().len(), 21);
    assert_eq!(
        last.body["pagination"],
        json!({"cursor": null, "hasMore": false})
    );
    let user = &last.body["data"][20];
    assert_eq!(user["email"], "user0120@acme.example");
    assert_eq!(user["role"], "USER");
    assert!(user["id"].is_string() && user.get("firstName").is_some());
    assert_eq!(first.body["data"][0]["role"], "PRIMARY_ADMIN");

    let default = api.get(&format!("/teams/{TEAM}/users")).await;
    assert_eq!(default.body["data"].as_array().unwrap().len(), 50);

    for bad in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "cursor=zz",
        "colour=red",
    ] {
        let refused = api.get(&format!("/teams/{TEAM}/users?{bad}")).await;
        assert_eq!(refused.status, 400, "{bad}");
        assert_eq!(refused.problem(), "invalid-request", "{bad}");
        assert_eq!(refused.body["status"], 400);
        assert!(
            refused.body["errors"][0]["field"].is_string(),
            "{}",
            refused.body
        );
    }
    // A cursor is good only for the listing that handed it out.
    let elsewhere = api
        .get(&format!("/teams/{TEAM}/product-pools?cursor={cursor}"))
        .await;
    assert_eq!(elsewhere.status, 400);

    let one = api
        .get(&format!("/teams/{TEAM}/users?email=user0007@acme.example"))
        .await;
    assert_eq!(one.body["data"].as_array().unwrap().len(), 1);
    let id = one.body["data"][0]["id"].as_str().unwrap();
    let got = api.get(&format!("/teams/{TEAM}/users/{id}")).await;
    assert_eq!(got.body["email"], "user0007@acme.example");
    let missing = api.get(&format!("/teams/{TEAM}/users/US404")).await;
    assert_eq!((missing.status, missing.problem()), (404, "not-found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_legged_or_expired_token_or_a_missing_scope_is_refused() {
    let fake = acme().start();
    let two = token(
        &fake,
        &[("grant_type", "client_credentials"), ("scope", "data:read")],
    )
    .await;
    assert_eq!(two.status, 200, "{}", two.body);
    assert!(two.body.get("refresh_token").is_none());
    let app = Api::new(&fake, two.body["access_token"].as_str().unwrap());
    for path in ["/teams".to_owned(), format!("/teams/{TEAM}/users")] {
        let refused = app.get(&path).await;
        assert_eq!(refused.status, 403, "{path}");
        assert!(refused.content_type().starts_with("application/json"));
        assert!(
            refused.body["errorCode"]
                .as_str()
                .unwrap()
                .starts_with("AUTH-")
        );
    }

    let unknown = Api::new(&fake, "not-a-token").get("/teams").await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body["developerMessage"].is_string());

    let reader = fake.state().issue(ADMIN_ID, &[TEAM_READ, USERS_READ]);
    let reader = Api::new(&fake, &reader.access);
    assert_eq!(
        reader.get(&format!("/teams/{TEAM}/users")).await.status,
        200
    );
    for refused in [
        reader.get(&format!("/teams/{TEAM}/product-pools")).await,
        reader.assign(TEAM, "US1", ACAD).await,
    ] {
        assert_eq!(refused.status, 403);
        assert!(
            refused.body["errorCode"]
                .as_str()
                .unwrap()
                .starts_with("AUTH-")
        );
    }

    // Access tokens last an hour on the fake's clock.
    let admin = Api::admin(&fake);
    assert_eq!(admin.get("/teams").await.status, 200);
    fake.state().advance(Duration::from_secs(3601));
    let expired = admin.get("/teams").await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["errorCode"], "AUTH-006");
}

/// `GET authorize` as a browser would, answering the redirect's query.
async fn authorize(fake: &Fake, query: &[(&str, String)]) -> (u16, Vec<(String, String)>) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(format!("{}/authentication/v2/authorize", fake.url))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let pairs = response
        .headers()
        .get("location")
        .map(|l| {
            url::Url::parse(l.to_str().unwrap())
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    (status, pairs)
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";
const CALLBACK: &str = "http://127.0.0.1:8765/callback";

/// What `accord login` sends the browser to: the six scopes, PKCE S256 of [`VERIFIER`].
fn query(state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT_ID.to_owned()),
        ("response_type", "code".to_owned()),
        ("redirect_uri", CALLBACK.to_owned()),
        ("scope", SCOPES.join(" ")),
        ("state", state.to_owned()),
        ("code_challenge", super::fake::challenge_of(VERIFIER)),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_pkce_then_every_refresh_token_works_once() {
    let fake = acme().start();
    let (verifier, callback) = (VERIFIER, CALLBACK);
    let (status, pairs) = authorize(&fake, &query("s-1")).await;
    assert_eq!(status, 302);
    assert_eq!(value(&pairs, "state"), Some("s-1"));
    let code = value(&pairs, "code").unwrap().to_owned();

    let exchange = |code: String, verifier: &'static str, redirect: &'static str| {
        let fake = &fake;
        async move {
            token(
                fake,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                ],
            )
            .await
        }
    };
    let wrong = "another-verifier-of-at-least-forty-three-characters-012";
    let refused = exchange(code.clone(), wrong, callback).await;
    assert_eq!(
        (refused.status, &refused.body["error"]),
        (400, &json!("invalid_grant"))
    );
    // A code is spent by its first exchange.
    let again = exchange(code, verifier, callback).await;
    assert_eq!(again.body["error"], "invalid_grant");

    let (_, pairs) = authorize(&fake, &query("s-2")).await;
    let code = value(&pairs, "code").unwrap().to_owned();
    let tokens = exchange(code, verifier, callback).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 3600);
    let access = tokens.body["access_token"].as_str().unwrap();
    let teams = Api::new(&fake, access).get("/teams").await;
    assert_eq!(teams.status, 200);
    let ids: Vec<&str> = teams.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [TEAM, OTHER_TEAM],
        "only eligible teams the admin administers"
    );
    assert_eq!(
        teams.body["data"][0],
        json!({"id": TEAM, "name": "Acme Design"})
    );

    // Every refresh gives a new refresh token; a used one is refused.
    let first = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |given: String| {
        let fake = &fake;
        async move {
            token(
                fake,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", given.as_str()),
                ],
            )
            .await
        }
    };
    let second = refresh(first.clone()).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let next = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, first);
    let second_use = refresh(first).await;
    assert_eq!(
        (second_use.status, &second_use.body["error"]),
        (400, &json!("invalid_grant"))
    );
    let renewed = Api::new(&fake, second.body["access_token"].as_str().unwrap());
    assert_eq!(
        renewed
            .get(&format!("/teams/{TEAM}/assignments"))
            .await
            .status,
        200
    );
    // Refresh tokens live 15 days.
    fake.state().advance(Duration::from_secs(15 * 86_400 + 1));
    assert_eq!(refresh(next).await.body["error"], "invalid_grant");
    assert_eq!(fake.state().grants["refresh_token"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_endpoint_checks_the_request() {
    let fake = acme().start();
    let (status, pairs) = authorize(&fake, &query("s-3")[..6]).await;
    assert_eq!(
        (status, value(&pairs, "error")),
        (302, Some("invalid_request"))
    );
    let mut bad = query("s-4");
    bad[2].1 = "https://evil.example/callback".to_owned();
    assert_eq!(authorize(&fake, &bad).await.0, 400);
    let mut bad = query("s-5");
    bad[3].1 = "data:read".to_owned();
    let (_, pairs) = authorize(&fake, &bad).await;
    assert_eq!(value(&pairs, "error"), Some("invalid_scope"));
    fake.state().login = Login::Deny;
    let (status, pairs) = authorize(&fake, &query("s-6")).await;
    assert_eq!(status, 302);
    assert_eq!(value(&pairs, "error"), Some("access_denied"));
    assert_eq!(value(&pairs, "state"), Some("s-6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_converges_and_the_team_decides_the_role() {
    let fake = acme()
        .on(TEAM)
        .invite_conflict("clash@acme.example")
        .start();
    let api = Api::admin(&fake);
    let path = format!("/teams/{TEAM}/users");
    let new = api
        .post(
            &path,
            json!({"email": "new@acme.example", "firstName": "New", "lastName": "Hire"}),
        )
        .await;
    assert_eq!(new.status, 201, "{}", new.body);
    assert_eq!(new.body["role"], "USER");
    assert_eq!(new.body["firstName"], "New");
    let same = api.post(&path, json!({"email": "NEW@acme.example"})).await;
    assert_eq!(same.status, 200);
    assert_eq!(same.body["id"], new.body["id"]);
    let guest = api
        .post(&path, json!({"email": "guest@partner.example"}))
        .await;
    assert_eq!(
        (guest.status, &guest.body["role"]),
        (201, &json!("EXTERNAL_USER"))
    );
    let clash = api
        .post(&path, json!({"email": "clash@acme.example"}))
        .await;
    assert_eq!(
        (clash.status, clash.problem()),
        (422, "invitation-conflict")
    );
    let bad = api.post(&path, json!({"mail": "x@acme.example"})).await;
    assert_eq!((bad.status, bad.problem()), (400, "invalid-request"));
    let s = fake.state();
    assert_eq!(
        s.team(TEAM).unwrap().invitations,
        ["new@acme.example", "guest@partner.example"]
    );
    assert!(
        s.members(TEAM)
            .contains(&("guest@partner.example".to_owned(), Role::ExternalUser))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_show_seats_dates_and_no_hidden_product() {
    let fake = acme().start();
    let api = Api::admin(&fake);
    let pools = api.get(&format!("/teams/{TEAM}/product-pools")).await;
    assert_eq!(pools.status, 200);
    let data = pools.body["data"].as_array().unwrap();
    let ids: Vec<&str> = data
        .iter()
        .map(|p| p["productId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ACAD, REVIT, CIVIL]);
    assert_eq!(
        data[0],
        json!({"productId": ACAD, "teamId": TEAM, "productName": "AutoCAD", "totalQuantity": 3,
            "assignedQuantity": 2, "unlimited": false,
            "startDate": "2026-01-01T00:00:00.000Z", "endDate": "2030-01-01T00:00:00.000Z"})
    );
    assert_eq!(
        (
            data[1]["unlimited"].clone(),
            data[1]["totalQuantity"].clone()
        ),
        (json!(true), Value::Null)
    );
    assert_eq!(data[1]["assignedQuantity"], Value::Null);
    assert_eq!(data[2]["totalQuantity"], 5);
    assert_eq!(data[2]["assignedQuantity"], Value::Null, "a future pool");

    let all = api.get(&format!("/teams/{TEAM}/assignments")).await;
    let rows = all.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "the hidden product is not listed: {rows:?}");
    let kinds: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap(),
                r["assignmentType"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(kinds.contains(&("user0001@acme.example", "DIRECT")));
    assert!(kinds.contains(&("user0002@acme.example", "GROUP")));
    assert!(kinds.contains(&("user0003@acme.example", "TEAM")));
    let hidden = api
        .get(&format!("/teams/{TEAM}/assignments?productId={HIDDEN}"))
        .await;
    assert_eq!(hidden.body, json!({"data": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_is_201_then_200_and_unassign_is_204_then_404_or_422() {
    let fake = acme().start();
    let api = Api::admin(&fake);
    let (u1, u2, u3) = (
        id_of(&fake, "user0001@acme.example"),
        id_of(&fake, "user0002@acme.example"),
        id_of(&fake, "user0003@acme.example"),
    );
    let new = api.assign(TEAM, &u3, ACAD).await;
    assert_eq!(new.status, 201, "{}", new.body);
    assert_eq!(
        new.body,
        json!({"userId": u3, "email": "user0003@acme.example", "teamId": TEAM, "productId": ACAD,
            "assignmentType": "DIRECT", "reassignmentQuotaNearingLimit": false})
    );
    let again = api.assign(TEAM, &u3, ACAD).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["assignmentType"], "DIRECT");
    // The pool's 3 seats are taken (user0001, user0002 by a group, user0003).
    let admin = id_of(&fake, ADMIN_EMAIL);
    let full = api.assign(TEAM, &admin, ACAD).await;
    assert_eq!((full.status, full.problem()), (422, "no-seats-available"));
    // A user holding a seat through a group takes no new seat directly.
    assert_eq!(api.assign(TEAM, &u2, ACAD).await.status, 201);

    for (product, status, kind) in [
        ("prod_unknown", 422, "unsupported-product"),
        (HIDDEN, 422, "unsupported-product"),
        (CIVIL, 422, "product-pool-not-active"),
    ] {
        let refused = api.assign(TEAM, &u1, product).await;
        assert_eq!(
            (refused.status, refused.problem()),
            (status, kind),
            "{product}"
        );
    }
    let stranger = api.assign(TEAM, "US9999999999", REVIT).await;
    assert_eq!((stranger.status, stranger.problem()), (404, "not-found"));
    let group = api
        .post(
            &format!("/teams/{TEAM}/assignments"),
            json!({"userId": u1, "productId": REVIT, "assignmentType": "GROUP"}),
        )
        .await;
    assert_eq!((group.status, group.problem()), (400, "invalid-request"));

    assert_eq!(api.unassign(TEAM, &u3, ACAD).await.status, 204);
    let gone = api.unassign(TEAM, &u3, ACAD).await;
    assert_eq!((gone.status, gone.problem()), (404, "not-found"));
    let inherited = api.unassign(TEAM, &u3, REVIT).await;
    assert_eq!(
        (inherited.status, inherited.problem()),
        (422, "inherited-assignment")
    );
    // The direct seat goes; the group's stays and shows.
    assert_eq!(api.unassign(TEAM, &u2, ACAD).await.status, 204);
    let left = api
        .get(&format!("/teams/{TEAM}/assignments?userId={u2}"))
        .await;
    assert_eq!(left.body["data"][0]["assignmentType"], "GROUP");
    assert_eq!(api.unassign(TEAM, &u1, HIDDEN).await.status, 422);

    let holdings = fake.state().holdings(TEAM);
    assert_eq!(
        holdings[&("user0001@acme.example".to_owned(), ACAD.to_owned())],
        "DIRECT"
    );
    assert_eq!(
        holdings[&("user0002@acme.example".to_owned(), ACAD.to_owned())],
        "GROUP"
    );
    assert!(!holdings.contains_key(&("user0003@acme.example".to_owned(), ACAD.to_owned())));
    assert_eq!(fake.state().count("POST teams/{id}/assignments"), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_wide_listing_lags_and_the_per_user_one_does_not() {
    let fake = acme().with(|s| s.lag = Duration::from_millis(800)).start();
    let api = Api::admin(&fake);
    let u3 = id_of(&fake, "user0003@acme.example");
    let u1 = id_of(&fake, "user0001@acme.example");
    assert_eq!(api.assign(TEAM, &u3, ACAD).await.status, 201);
    assert_eq!(api.unassign(TEAM, &u1, ACAD).await.status, 204);
    let pair = |b: &Value, user: &str| {
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["userId"] == user && r["productId"] == ACAD)
    };
    let wide = api.get(&format!("/teams/{TEAM}/assignments")).await;
    assert!(
        !pair(&wide.body, &u3) && pair(&wide.body, &u1),
        "lagging: {}",
        wide.body
    );
    let fresh = api
        .get(&format!("/teams/{TEAM}/assignments?userId={u3}"))
        .await;
    assert!(pair(&fresh.body, &u3));
    let fresh = api
        .get(&format!("/teams/{TEAM}/assignments?userId={u1}"))
        .await;
    assert!(!pair(&fresh.body, &u1));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let wide = api.get(&format!("/teams/{TEAM}/assignments")).await;
    assert!(
        pair(&wide.body, &u3) && !pair(&wide.body, &u1),
        "caught up: {}",
        wide.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_calls_a_window_per_team_then_429_with_retry_after() {
    let minute = Duration::from_secs(4);
    let fake = acme().with(|s| s.limits.minute = minute).start();
    let api = Api::admin(&fake);
    next_window(minute).await;
    let path = format!("/teams/{TEAM}/product-pools");
    for i in 1..=60 {
        let ok = api.get(&path).await;
        assert_eq!(ok.status, 200, "call {i}");
        assert_eq!(ok.number("x-ratelimit-remaining"), 60 - i);
        assert!((1..=4).contains(&ok.number("x-ratelimit-reset")));
    }
    let over = api.get(&path).await;
    assert_eq!((over.status, over.problem()), (429, "too-many-requests"));
    let retry = over.number("retry-after");
    assert!((1..=4).contains(&retry));
    assert_eq!(over.number("x-ratelimit-remaining"), 0);
    // Another team's budget and List Teams' (per client id) are their own.
    assert_eq!(
        api.get(&format!("/teams/{OTHER_TEAM}/users")).await.status,
        200
    );
    assert_eq!(api.get("/teams").await.status, 200);
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(api.get(&path).await.status, 200);

    let s = fake.state();
    assert_eq!(s.too_many(TEAM), 1);
    let windows = s.per_window(TEAM);
    assert!(windows.values().all(|n| *n <= 60), "{windows:?}");
    assert_eq!(windows.values().sum::<u32>(), 61, "the 429 spent nothing");
    assert!(s.max_in(TEAM, minute) >= 61, "a burst");
    assert!(s.wall_time(TEAM) >= Duration::from_secs(retry));
    assert_eq!(s.team_log(TEAM).len(), 62);
    assert_eq!(s.received("GET teams/{id}/product-pools"), 62);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_takes_its_share_of_each_window() {
    let minute = Duration::from_secs(4);
    let fake = acme()
        .with(|s| {
            s.limits.minute = minute;
            s.limits.other = OtherClient::Burst(0.5);
        })
        .start();
    let api = Api::admin(&fake);
    next_window(minute).await;
    let path = format!("/teams/{TEAM}/users");
    let first = api.get(&path).await;
    assert_eq!(first.number("x-ratelimit-remaining"), 29);
    let mut ok = 1;
    while api.get(&path).await.status == 200 {
        ok += 1;
    }
    assert_eq!(ok, 30);
    assert_eq!(fake.state().other_calls(TEAM), (30, 0));

    // Spread: a half of the budget over the window, so half of that by its middle.
    fake.state().limits.other = OtherClient::Spread(0.5);
    next_window(minute).await;
    tokio::time::sleep(minute / 2).await;
    let middle = api.get(&path).await;
    let remaining = middle.number("x-ratelimit-remaining");
    assert!((35..=46).contains(&remaining), "{remaining}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reassignment_quota_warns_then_runs_out_until_its_window_passes() {
    let fake = acme()
        .team("100005", "Quota")
        .users(5)
        .pool(Pool::limited(ACAD, "AutoCAD", 2).quota(2, Duration::from_secs(86_400)))
        .direct("user0001@acme.example", ACAD)
        .start();
    let team = "100005";
    let api = Api::admin(&fake);
    let u: Vec<String> = (1..=5)
        .map(|i| id_of(&fake, &format!("user{i:04}@acme.example")))
        .collect();
    // A seat never freed is no reassignment.
    let fresh = api.assign(team, &u[4], ACAD).await;
    assert_eq!(fresh.body["reassignmentQuotaNearingLimit"], false);
    assert_eq!(api.unassign(team, &u[0], ACAD).await.status, 204);
    let one = api.assign(team, &u[1], ACAD).await;
    assert_eq!(
        (one.status, &one.body["reassignmentQuotaNearingLimit"]),
        (201, &json!(false))
    );
    assert_eq!(api.unassign(team, &u[1], ACAD).await.status, 204);
    let two = api.assign(team, &u[2], ACAD).await;
    assert_eq!(
        (two.status, &two.body["reassignmentQuotaNearingLimit"]),
        (201, &json!(true))
    );
    assert_eq!(fake.state().quota_used(team, ACAD), 2);
    assert_eq!(api.unassign(team, &u[2], ACAD).await.status, 204);
    let out = api.assign(team, &u[3], ACAD).await;
    assert_eq!(
        (out.status, out.problem()),
        (422, "reassignment-quota-exhausted")
    );
    let reset: jiff::Timestamp = out.body["data"]["nextQuotaResetDate"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let in_a_day = jiff::Timestamp::now() + Duration::from_secs(86_400);
    assert!(reset.duration_since(in_a_day).abs() < jiff::SignedDuration::from_secs(60));
    fake.state().advance(Duration::from_secs(86_401));
    let api = Api::admin(&fake);
    assert_eq!(api.assign(team, &u[3], ACAD).await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_foreign_and_ineligible_teams_get_the_same_403() {
    let fake = acme()
        .team("100006", "Acme SSO")
        .admin_as(Role::SsoAdmin)
        .team("100007", "Acme Demoted")
        .admin_as(Role::User)
        .start();
    let api = Api::admin(&fake);
    assert_eq!(
        api.get("/teams/100006/users").await.status,
        200,
        "an SSO admin"
    );
    let mut bodies = Vec::new();
    for team in ["999999", FOREIGN, INELIGIBLE, "100007"] {
        let refused = api.get(&format!("/teams/{team}/users")).await;
        assert_eq!(
            (refused.status, refused.problem()),
            (403, "forbidden"),
            "{team}"
        );
        let mut body = refused.body.clone();
        body["instance"] = Value::Null;
        body["requestId"] = Value::Null;
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    // The role is checked on every call.
    let me = id_of(&fake, ADMIN_EMAIL);
    fake.state()
        .team_mut(TEAM)
        .unwrap()
        .members
        .retain(|(u, _)| *u != me);
    assert_eq!(api.get(&format!("/teams/{TEAM}/users")).await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_request_id_is_echoed_and_another_replaced() {
    let fake = acme().start();
    let api = Api::admin(&fake);
    let path = "/teams/999999/users";
    let echoed = api
        .try_send(
            Method::GET,
            path,
            None,
            &[("x-request-id", " run-1.call_2 ")],
        )
        .await
        .unwrap();
    assert_eq!(echoed.header("x-request-id"), Some("run-1.call_2"));
    assert_eq!(echoed.body["requestId"], "run-1.call_2");
    let long = "x".repeat(129);
    for bad in ["has space", "a/b", long.as_str()] {
        let replaced = api
            .try_send(Method::GET, path, None, &[("x-request-id", bad)])
            .await
            .unwrap();
        let id = replaced.header("x-request-id").unwrap();
        assert!(id != bad && !id.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_strike_before_or_after_the_write_and_every_request_is_logged() {
    let fake = acme()
        .with(|s| {
            let label = "POST teams/{id}/assignments";
            s.faults
                .push(Fault::new(label, FaultKind::ServerError, FaultTime::Before));
            s.faults
                .push(Fault::new(label, FaultKind::Drop, FaultTime::After));
        })
        .start();
    let api = Api::admin(&fake);
    let u3 = id_of(&fake, "user0003@acme.example");
    let key = ("user0003@acme.example".to_owned(), REVIT.to_owned());
    let before = api.assign(TEAM, &u3, REVIT).await;
    assert_eq!(before.status, 500);
    assert_eq!(fake.state().holdings(TEAM)[&key], "TEAM", "nothing done");
    let path = format!("/teams/{TEAM}/assignments");
    let lost = api
        .try_send(
            Method::POST,
            &path,
            Some(json!({"userId": u3, "productId": REVIT})),
            &[],
        )
        .await;
    assert!(lost.is_err(), "the connection drops");
    assert_eq!(
        fake.state().holdings(TEAM)[&key],
        "DIRECT",
        "the write committed"
    );
    fake.state().overload = 1;
    let busy = api.assign(TEAM, &u3, REVIT).await;
    assert_eq!((busy.status, busy.problem()), (503, "service-unavailable"));
    assert_eq!(busy.number("retry-after"), 1);
    assert_eq!(api.assign(TEAM, &u3, REVIT).await.status, 200);
    let statuses: Vec<u16> = fake
        .state()
        .team_log(TEAM)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [500, 0, 503, 200]);

    // A seeded fraction of all requests.
    fake.state().fail_randomly(0.5, 7);
    let mut failed = 0;
    for _ in 0..40 {
        match api.try_send(Method::GET, "/teams", None, &[]).await {
            Ok(a) if a.status == 200 => {}
            _ => failed += 1,
        }
    }
    let injected = fake.state().injected();
    assert!(injected > 5 && injected < 35, "{injected}");
    // A fault after a read still answers a failure, so every injected one failed.
    assert_eq!(failed, injected);
    assert_eq!(fake.state().received("GET teams"), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_base_url_serves_the_acc_fake_too() {
    use crate::acc::fake as acc;
    let hq = acc::Fake::start();
    let fake = acme().upstream(&hq.url).start();
    let two = token(
        &fake,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "account:read account:write"),
        ],
    )
    .await;
    assert_eq!(two.status, 200, "{}", two.body);
    let users = reqwest::Client::new()
        .get(format!(
            "{}/hq/v1/accounts/{}/users",
            fake.url,
            acc::ACCOUNT
        ))
        .bearer_auth(two.body["access_token"].as_str().unwrap())
        .header("Region", acc::REGION)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);
    let users: Value = users.json().await.unwrap();
    assert_eq!(users[0]["email"], acc::ADMIN_EMAIL);
    assert_eq!(hq.state().received("GET users"), 1);
    assert_eq!(hq.state().received("POST token"), 1);
    // The Team Admin paths are this fake's, three-legged.
    assert_eq!(Api::admin(&fake).get("/teams").await.status, 200);
    let alone = Setup::new().start();
    let nowhere = reqwest::get(format!("{}/nowhere", alone.url))
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 404);
}
