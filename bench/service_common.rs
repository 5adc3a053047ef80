//! Shared by the service benchmarks (`bench/service_fetch.rs`, `bench/service_load.rs`;
//! BENCHMARKS.md, "## serve"): a deterministic large account, and `accord serve`'s
//! router running in-process on loopback (its own runtime and thread, like a separate
//! process), optionally with a simulated network round trip added to every request.

#![allow(dead_code)] // each benchmark uses a part

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord::backend::SystemClock;
use accord::backend::sqlite::SqliteStore;
use accord::service::{Service, ServiceOptions, Tokens};
use accord::state::{
    AccessLevel, AccountInfo, AgreementState, CompanyState, Email, MemberState, MemberStatus,
    ProductState, ProjectAccess, ProjectMemberState, ProjectProduct, ProjectState, RoleState,
    State,
};

/// The benchmark's token (write scope).
pub const TOKEN: &str = "bench-token-not-a-secret";

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

fn email(n: usize) -> Email {
    Email::new(&format!("m{n:06}@bench.example"))
}

/// The shape of an account (counts).
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Members.
    pub members: usize,
    /// Companies (members spread evenly).
    pub companies: usize,
    /// Agreements, each with 4 products of 40 seats, one cloud service of 3 users and 6
    /// support holders.
    pub agreements: usize,
    /// Projects; every member is on 3 of them.
    pub projects: usize,
}

impl Shape {
    /// 50,000 members as the validate benchmark's workload has them: 1,000 companies,
    /// 10 roles, 250 agreements, 2,500 projects with 150,000 memberships.
    pub const LARGE: Self = Self {
        members: 50_000,
        companies: 1_000,
        agreements: 250,
        projects: 2_500,
    };
}

/// A deterministic account of `shape`, every member active and signed in.
#[must_use]
pub fn account(shape: Shape) -> State {
    let mut state = State {
        account: AccountInfo {
            id: "bench".into(),
            name: "Bench Architects".into(),
        },
        ..State::default()
    };
    for c in 0..shape.companies {
        state.companies.insert(
            format!("Company {c:04}"),
            CompanyState {
                trade: Some("Architecture".into()),
            },
        );
    }
    for r in 0..10 {
        let default_access = if r == 0 {
            [AccessLevel::AccountAdmin].into()
        } else {
            Default::default()
        };
        state
            .roles
            .insert(format!("Role {r}"), RoleState { default_access });
    }
    for n in 0..shape.members {
        let role = n % 10;
        state.members.insert(
            email(n),
            MemberState {
                first_name: Some(format!("First{n}")),
                last_name: Some(format!("Last{n}")),
                company: Some(format!("Company {:04}", n % shape.companies)),
                role: Some(format!("Role {role}")),
                access: if role == 0 {
                    [AccessLevel::AccountAdmin].into()
                } else {
                    Default::default()
                },
                status: MemberStatus::Active,
                external_subscriptions: Default::default(),
                invited_at: Some(T0),
                signed_in: true,
            },
        );
    }
    for a in 0..shape.agreements {
        let base = a * 160;
        let mut agreement = AgreementState {
            name: format!("Collection {a}"),
            contract_manager: email(base % shape.members),
            software_coordinator: email((base + 1) % shape.members),
            ..AgreementState::default()
        };
        for (p, product) in ["AutoCAD", "Revit", "Civil 3D", "Navisworks"]
            .iter()
            .enumerate()
        {
            let assigned = (0..40)
                .map(|j| email((base + p * 40 + j) % shape.members))
                .collect();
            agreement.products.insert(
                (*product).to_owned(),
                ProductState {
                    seats: Some(40),
                    assigned,
                },
            );
        }
        agreement.cloud_services.insert(
            "Cloud Rendering".into(),
            (0..3).map(|j| email((base + j) % shape.members)).collect(),
        );
        agreement.support = (0..6).map(|j| email((base + j) % shape.members)).collect();
        state.agreements.insert(format!("1100{a:08}"), agreement);
    }
    for p in 0..shape.projects {
        state
            .projects
            .insert(format!("Project {p:05}"), ProjectState::default());
    }
    for n in 0..shape.members {
        for r in 0..3 {
            let project = (n * 3 + r) % shape.projects;
            if let Some(p) = state.projects.get_mut(&format!("Project {project:05}")) {
                p.members.insert(
                    email(n),
                    ProjectMemberState {
                        access: ProjectAccess::Member,
                        products: [ProjectProduct::Docs].into(),
                    },
                );
            }
        }
    }
    state
}

/// Writes `state` into a new store at `path`.
///
/// # Errors
/// The store's errors, as text.
pub fn seed(path: &Path, state: &State) -> Result<(), String> {
    let mut store = SqliteStore::open(path, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    store.import_state(state).map_err(|e| e.to_string())
}

/// A service running in-process on 127.0.0.1; stopped when dropped.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves the store at `db` on 127.0.0.1:0 with `workers` runtime threads, adding
/// `latency` to every request (a simulated network round trip; zero for none).
///
/// # Errors
/// The store cannot be opened or the port bound.
pub fn serve(db: &Path, latency: Duration, workers: usize) -> Result<Running, String> {
    let tokens =
        Tokens::parse(&format!("write {TOKEN} bench\n"), "bench").map_err(|e| e.to_string())?;
    let service = Service::open(ServiceOptions::new(db, tokens), Arc::new(SystemClock))
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| e.to_string())?;
    let address: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut router = service.router();
    if !latency.is_zero() {
        router = router.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                tokio::time::sleep(latency).await;
                next.run(request).await
            },
        ));
    }
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    Ok(Running {
        url: format!("http://{address}"),
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

/// The `q` quantile of `values` (nearest rank; sorted in place).
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    // q is in [0, 1] and the index is bounded by the length
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
