//! Configuration errors exit with status 2 and name the key; layers override in order
//! defaults < file < environment < flags.

use std::time::Duration;

use crate::helpers::{PorticoProcess, TestDatabase, free_port, portico_command, run_portico};

fn assert_config_error(result: (i32, String, String), key: &str) {
    let (code, _, stderr) = result;
    assert_eq!(code, 2, "exit status for a bad `{key}`; stderr: {stderr}");
    assert!(stderr.contains(&format!("`{key}`")), "stderr names `{key}`: {stderr}");
}

#[tokio::test]
async fn unknown_key_in_the_config_file_exits_2() {
    let db = TestDatabase::new().await;
    let file = db.dir.path().join("portico.toml");
    std::fs::write(&file, "[http]\nbody_limt = 10\n").unwrap();
    let command = portico_command(&db, &["--config", file.to_str().unwrap(), "migrate"]);
    assert_config_error(run_portico(command, None), "http.body_limt");
}

#[tokio::test]
async fn unknown_environment_key_exits_2() {
    let db = TestDatabase::new().await;
    let mut command = portico_command(&db, &["migrate"]);
    command.env("PORTICO_JOBS__CONCURENCY", "3");
    assert_config_error(run_portico(command, None), "jobs.concurency");
}

#[tokio::test]
async fn malformed_values_exit_2() {
    let db = TestDatabase::new().await;
    let mut command = portico_command(&db, &["migrate"]);
    command.env("PORTICO_DATABASE_URL", "mysql://localhost/portico");
    assert_config_error(run_portico(command, None), "database_url");

    let mut command = portico_command(&db, &["serve"]);
    command.env("PORTICO_LISTEN", "not-an-address");
    assert_config_error(run_portico(command, None), "listen");

    let mut command = portico_command(&db, &["migrate"]);
    command.env("PORTICO_JOBS__CONCURRENCY", "0");
    assert_config_error(run_portico(command, None), "jobs.concurrency");
}

#[tokio::test]
async fn unreachable_database_exits_2() {
    let db = TestDatabase::new().await;
    let url = format!("postgres://portico@127.0.0.1:{}/portico", free_port());
    let command = portico_command(&db, &["--database-url", &url, "migrate"]);
    assert_config_error(run_portico(command, None), "database_url");
}

#[tokio::test]
async fn production_mode_requires_a_secret_key() {
    let db = TestDatabase::new().await;
    let mut command = portico_command(&db, &["migrate"]);
    command.env("PORTICO_MODE", "production");
    assert_config_error(run_portico(command, None), "secret_key");

    let (code, key, _) = run_portico(portico_command(&db, &["admin", "generate-key"]), None);
    assert_eq!(code, 0);
    let mut command = portico_command(&db, &["migrate"]);
    command.env("PORTICO_MODE", "production").env("PORTICO_SECRET_KEY", key.trim());
    let (code, _, stderr) = run_portico(command, None);
    assert_eq!(code, 0, "{stderr}");
}

#[tokio::test]
async fn flags_beat_environment_beats_file() {
    let db = TestDatabase::new().await;
    let (file_port, env_port, flag_port) = (free_port(), free_port(), free_port());
    let file = db.dir.path().join("portico.toml");
    std::fs::write(&file, format!("listen = \"127.0.0.1:{file_port}\"\n")).unwrap();

    let serve = |extra: &[&str], env_listen: Option<u16>| {
        let mut args = vec!["--config", file.to_str().unwrap(), "serve", "--no-workers"];
        args.extend_from_slice(extra);
        let mut command = portico_command(&db, &args);
        if let Some(port) = env_listen {
            command.env("PORTICO_LISTEN", format!("127.0.0.1:{port}"));
        }
        let mut process = PorticoProcess::start(command);
        let address = process.wait_for_listen_address();
        process.sigterm();
        process.wait_for_exit(Duration::from_secs(30));
        address
    };

    assert_eq!(serve(&[], None), format!("http://127.0.0.1:{file_port}"));
    assert_eq!(serve(&[], Some(env_port)), format!("http://127.0.0.1:{env_port}"));
    let flag = format!("127.0.0.1:{flag_port}");
    assert_eq!(serve(&["--listen", &flag], Some(env_port)), format!("http://{flag}"));
}

#[tokio::test]
async fn a_listen_address_in_use_exits_2() {
    let db = TestDatabase::new().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let command = portico_command(&db, &["serve", "--listen", &address]);
    assert_config_error(run_portico(command, None), "listen");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let db = TestDatabase::new().await;
    let mut command = portico_command(&db, &["serve", "--no-workers", "--listen", "127.0.0.1:0"]);
    command.env("PORTICO_LOG__FORMAT", "json");
    let mut server = PorticoProcess::start(command);
    let line = server.wait_for_line("http server listening", Duration::from_secs(60));
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(event["level"], "INFO");
    assert!(event["address"].as_str().unwrap().starts_with("127.0.0.1:"), "{event}");
    server.sigterm();
    assert_eq!(server.wait_for_exit(Duration::from_secs(30)), 0);
}
