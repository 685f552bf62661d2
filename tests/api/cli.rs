//! The command line: version, migrations, staff creation.

use crate::helpers::{TestDatabase, portico_command, run_portico};

#[tokio::test]
async fn version_is_printed() {
    let db = TestDatabase::new().await;
    let (code, stdout, _) = run_portico(portico_command(&db, &["--version"]), None);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("portico {}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = TestDatabase::new().await;
    for _ in 0..2 {
        let (code, stdout, stderr) = run_portico(portico_command(&db, &["migrate"]), None);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("migrations applied"));
    }
}

#[tokio::test]
async fn create_staff_reads_the_password_from_stdin_and_prints_the_id() {
    let db = TestDatabase::new().await;
    let create = |email: &str, password: &str| {
        run_portico(
            portico_command(&db, &["admin", "create-staff", "--email", email, "--role", "admin"]),
            Some(&format!("{password}\n")),
        )
    };
    let (code, stdout, stderr) = create("Ada@Example.com", "a long enough passphrase");
    assert_eq!(code, 0, "{stderr}");
    let user_id: uuid::Uuid = stdout.trim().parse().expect("prints the new user's id");
    assert_eq!(user_id.get_version_num(), 7);

    // The same address in another case is the same user.
    let (code, _, stderr) = create("ada@example.com", "another long passphrase");
    assert_eq!(code, 1);
    assert!(stderr.contains("already exists"), "{stderr}");

    let (code, _, stderr) = create("grace@example.com", "short");
    assert_eq!(code, 1);
    assert!(stderr.contains("at least 12 characters"), "{stderr}");
}

#[tokio::test]
async fn create_staff_rejects_an_unknown_role() {
    let db = TestDatabase::new().await;
    let command = portico_command(&db, &["admin", "create-staff", "--email", "a@b.c", "--role", "owner"]);
    let (code, _, stderr) = run_portico(command, Some("a long enough passphrase\n"));
    assert_eq!(code, 2, "usage error: {stderr}");
}
