//! Test harness: a fresh database per test (SQLite file, or a new PostgreSQL
//! database when `TEST_DATABASE_URL` points at a server), the real service on
//! 127.0.0.1 port 0, and helpers to run the `portico` binary as a separate process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portico::config::Settings;
use portico::jobs::JobQueue;
use portico::startup::{Application, Roles, StartupError};
use portico::store::Store;
use tokio_util::sync::CancellationToken;

/// Set to a PostgreSQL server URL (its maintenance database) to run the suite on
/// PostgreSQL; unset, the suite runs on SQLite.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The public URL test services believe they are reached at; browsers would send
/// it as `Origin`.
pub const PUBLIC_URL: &str = "http://portico.test";

/// A database that exists for one test, and a folder for its other files.
pub struct TestDatabase {
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = match std::env::var(TEST_DATABASE_URL) {
            Ok(server_url) if !server_url.is_empty() => create_postgres_database(&server_url).await,
            _ => format!("sqlite://{}", dir.path().join("portico.db").display()),
        };
        Self { url, dir }
    }

    /// Settings a test service uses: this database, port 0, fast polling and heartbeats.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::defaults();
        settings.database_url = self.url.clone();
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.data_dir = self.dir.path().join("data");
        settings.jobs.poll_interval_ms = 50;
        settings.jobs.heartbeat_secs = 1;
        // Heartbeats are stored in whole seconds: five beats keep a worker slowed
        // by a loaded machine from being presumed dead (its job would run twice).
        settings.jobs.missed_heartbeats = 5;
        settings.jobs.shutdown_grace_secs = 10;
        settings.database.max_connections = 5;
        settings.public_url = PUBLIC_URL.into();
        settings.validate().expect("test settings are valid");
        settings
    }

    /// Environment for a `portico` child process matching [`Self::settings`].
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PORTICO_DATABASE_URL", self.url.clone()),
            ("PORTICO_DATA_DIR", self.dir.path().join("data").display().to_string()),
            ("PORTICO_JOBS__POLL_INTERVAL_MS", "50".into()),
            ("PORTICO_JOBS__HEARTBEAT_SECS", "1".into()),
            ("PORTICO_JOBS__MISSED_HEARTBEATS", "5".into()),
            ("PORTICO_JOBS__SHUTDOWN_GRACE_SECS", "10".into()),
            ("PORTICO_DATABASE__MAX_CONNECTIONS", "5".into()),
            ("PORTICO_LOG__LEVEL", "info,sqlx=warn".into()),
        ]
    }

    /// The store and queue, opened the way the CLI opens them (no migrations).
    pub async fn open(&self) -> (Store, JobQueue) {
        let settings = self.settings();
        let store = Store::connect(&settings).await.expect("store connects");
        let queue = JobQueue::open(&settings, &store, false).await.expect("queue opens");
        (store, queue)
    }
}

async fn create_postgres_database(server_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(server_url).await.expect("test PostgreSQL server reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut connection)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(server_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// The service running in this process, as tests see it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub store: Store,
    pub queue: JobQueue,
    /// The settings the service runs with (enqueue with `settings.jobs`).
    pub settings: Settings,
    /// The running service; it ends when a role fails or on shutdown.
    pub server: tokio::task::JoinHandle<Result<(), StartupError>>,
}

impl TestApp {
    /// The messages the development mailer wrote, oldest first, as a mail
    /// client shows them (quoted-printable bodies decoded).
    pub fn mailbox(&self) -> Vec<String> {
        let folder = self.settings.data_dir.join("mail");
        let mut files: Vec<_> = std::fs::read_dir(folder)
            .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
            .unwrap_or_default();
        files.sort();
        files.into_iter().map(|path| portico_testkit::smtp::readable(&std::fs::read_to_string(path).unwrap())).collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_roles(Roles::ALL, customize).await
}

pub async fn spawn_app_with_roles(roles: Roles, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::new().await;
    let mut settings = db.settings();
    customize(&mut settings);
    // `PORTICO_TEST_LOG=info` (any tracing filter): the servers' logs on standard
    // output, for chasing a failure; off by default, as the harness cannot tell
    // one test's server from another's.
    if let Ok(level) = std::env::var("PORTICO_TEST_LOG") {
        portico::telemetry::init_logging(&portico::config::LogSettings {
            format: portico::config::LogFormat::Text,
            level,
        });
    }
    let application = Application::build_with_roles(settings.clone(), roles).await.expect("application builds");
    let address = format!("http://{}", application.local_addr().expect("http is bound"));
    let store = application.store().clone();
    let queue = application.queue().clone();
    // Runs until the test's runtime ends.
    let server = tokio::spawn(application.run_until_stopped(CancellationToken::new()));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    TestApp { address, client, db, store, queue, settings, server }
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `portico` child process whose output lines are collected as they arrive.
pub struct PorticoProcess {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

pub fn portico_command(db: &TestDatabase, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portico"));
    command.args(args).env_remove("RUST_LOG").current_dir(db.dir.path());
    for (name, value) in db.env() {
        command.env(name, value);
    }
    command
}

impl PorticoProcess {
    pub fn start(mut command: Command) -> Self {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("portico binary starts");
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self { child, lines, seen: Vec::new() }
    }

    /// Waits for an output line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|line| line.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(remaining) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    panic!("no line containing {needle:?} within {timeout:?}; output so far:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Waits until the worker for `queue` has started (each job type has its own).
    pub fn wait_for_worker(&mut self, queue: &str) -> String {
        self.wait_for_line(&format!("{queue}@"), Duration::from_secs(60))
    }

    /// The address a `serve` process printed.
    pub fn wait_for_listen_address(&mut self) -> String {
        let line = self.wait_for_line("portico listening on ", Duration::from_secs(60));
        line.rsplit(' ').next().unwrap().to_owned()
    }

    pub fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("killed process reaped");
    }

    pub fn sigterm(&self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).expect("SIGTERM delivered");
    }

    /// Waits for exit and returns the status code.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Keep what it said on the way out, for failure messages.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                self.child.kill().ok();
                panic!("process did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PorticoProcess {
    fn drop(&mut self) {
        // Never leave a worker running past its test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `portico` command to completion: (exit code, stdout, stderr).
pub fn run_portico(mut command: Command, stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("portico binary starts");
    let mut child_stdin = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        // A process that exits early (a usage error) closes its stdin: not our failure.
        if let Err(error) = child_stdin.write_all(input.as_bytes()) {
            assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "writing to the child's stdin");
        }
    }
    drop(child_stdin);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A signed-in browser: the session cookie plus the headers a browser adds.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: uuid::Uuid,
    pub email: String,
    pub password: String,
    pub cookie: String,
}

/// The session cookie's `name=value` from a response's `Set-Cookie`.
pub fn session_cookie_from(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("portico_session="))
        .map(|value| value.split(';').next().unwrap().to_owned())
}

impl TestApp {
    /// A request as a browser on our own origin would send it.
    pub fn request(&self, method: reqwest::Method, path: &str, session: Option<&Session>) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, self.url(path)).header("origin", PUBLIC_URL);
        if let Some(session) = session {
            request = request.header("cookie", &session.cookie);
        }
        request
    }

    /// GETs `path` (as `session`, if any) and reads the answer as JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str, session: Option<&Session>) -> T {
        self.request(reqwest::Method::GET, path, session).send().await.unwrap().json().await.unwrap()
    }

    /// POSTs `body` as JSON (as `session`, if any) and reads the answer as JSON.
    pub async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        session: Option<&Session>,
        body: &serde_json::Value,
    ) -> T {
        self.request(reqwest::Method::POST, path, session).json(body).send().await.unwrap().json().await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/api/v1/auth/login", None)
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Session {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), 200, "signing in {email}");
        let cookie = session_cookie_from(&response).expect("a session cookie");
        let body: serde_json::Value = response.json().await.unwrap();
        Session {
            user_id: body["user_id"].as_str().unwrap().parse().unwrap(),
            email: email.to_owned(),
            password: password.to_owned(),
            cookie,
        }
    }

    /// Signs in again with password and a recovery code.
    pub async fn sign_in_with_recovery_code(&self, session: &Session, recovery_code: &str) -> Session {
        let response = self
            .request(reqwest::Method::POST, "/api/v1/auth/login", None)
            .json(&serde_json::json!({
                "email": session.email, "password": session.password, "recovery_code": recovery_code
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "signing in with a recovery code");
        Session { cookie: session_cookie_from(&response).unwrap(), ..session.clone() }
    }

    /// A staff user created the way `portico admin create-staff` does, signed in.
    pub async fn staff(&self, role: portico::auth::permissions::StaffRole) -> Session {
        let email = format!("staff-{}-{}@example.com", role.as_str(), uuid::Uuid::new_v4().simple());
        let password = "staff passphrase for tests";
        let password_hash = portico::core::password::hash_password(password.to_owned().into()).await;
        let new_user = portico::store::NewStaffUser { email: email.clone(), password_hash, role };
        self.store.create_staff_user(&new_user).await.unwrap();
        self.sign_in(&email, password).await
    }

    /// A customer account created by `admin` over the API; returns its id.
    pub async fn create_account(&self, admin: &Session, name: &str) -> uuid::Uuid {
        let slug =
            format!("{}-{}", name.to_lowercase().replace(' ', "-"), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let response = self
            .request(reqwest::Method::POST, "/api/v1/accounts", Some(admin))
            .json(&serde_json::json!({ "name": name, "slug": slug }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Invites a new user into `account_id` with `role` (as `inviter`) and accepts.
    pub async fn member(&self, inviter: &Session, account_id: uuid::Uuid, role: &str) -> Session {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        self.member_at(inviter, account_id, role, &email).await
    }

    /// A member signing in as `email`.
    pub async fn member_at(&self, inviter: &Session, account_id: uuid::Uuid, role: &str, email: &str) -> Session {
        let response = self
            .request(reqwest::Method::POST, &format!("/api/v1/accounts/{account_id}/invitations"), Some(inviter))
            .json(&serde_json::json!({ "email": email, "role": role }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "inviting a {role}");
        let invitation: serde_json::Value = response.json().await.unwrap();
        let password = format!("{role} member passphrase");
        let response = self
            .request(reqwest::Method::POST, "/api/v1/invitations/accept", None)
            .json(&serde_json::json!({
                "token": invitation["token"], "password": password, "display_name": format!("A {role}")
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "accepting as a {role}");
        self.sign_in(email, &password).await
    }
}

/// Runs one statement straight against the test database, bypassing the service:
/// for tests that must age, break or inspect rows as an attacker or time would.
pub async fn raw_sql(
    db: &TestDatabase,
    statement: &'static str,
    bind: impl FnOnce(RawQuery<'static>) -> RawQuery<'static>,
) -> u64 {
    use sqlx::Connection;
    if db.url.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let RawQuery::Postgres(query) = bind(RawQuery::Postgres(sqlx::query(statement))) else { unreachable!() };
        query.execute(&mut connection).await.unwrap().rows_affected()
    } else {
        let mut connection = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let RawQuery::Sqlite(query) = bind(RawQuery::Sqlite(sqlx::query(statement))) else { unreachable!() };
        query.execute(&mut connection).await.unwrap().rows_affected()
    }
}

/// A count read straight from the test database (`SELECT COUNT(*) …` with no binds).
pub async fn raw_count(db: &TestDatabase, statement: &'static str) -> i64 {
    use sqlx::Connection;
    if db.url.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(statement).fetch_one(&mut connection).await.unwrap()
    } else {
        let mut connection = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(statement).fetch_one(&mut connection).await.unwrap()
    }
}

pub enum RawQuery<'q> {
    Sqlite(sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>),
    Postgres(sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>),
}

impl<'q> RawQuery<'q> {
    pub fn bind<T>(self, value: T) -> Self
    where
        T: 'q + Send + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        match self {
            RawQuery::Sqlite(query) => RawQuery::Sqlite(query.bind(value)),
            RawQuery::Postgres(query) => RawQuery::Postgres(query.bind(value)),
        }
    }
}
