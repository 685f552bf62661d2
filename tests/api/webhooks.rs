//! `portico webhooks verify`: the gateway's verification, from the command line,
//! on the schemes' published examples.

use std::process::Command;

use crate::helpers::run_portico;

fn verify(dir: &tempfile::TempDir, args: &[&str], headers: &str, body: &[u8]) -> (i32, String, String) {
    let headers_file = dir.path().join("headers.txt");
    let body_file = dir.path().join("body.bin");
    std::fs::write(&headers_file, headers).unwrap();
    std::fs::write(&body_file, body).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_portico"));
    command.args(["webhooks", "verify"]).args(args);
    command.arg("--headers-file").arg(&headers_file).arg("--body-file").arg(&body_file);
    run_portico(command, None)
}

const SW_HEADERS: &str = "POST /webhooks/endpoint HTTP/1.1\nwebhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\n\
    webhook-timestamp: 1614265330\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n";
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[test]
fn a_standard_webhooks_delivery_verifies_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let body = br#"{"test": 2432232314}"#;
    let scheme = ["--scheme", "standard-webhooks", "--secret", SW_SECRET, "--now", "1614265330"];
    let (code, stdout, stderr) = verify(&dir, &scheme, SW_HEADERS, body);
    assert_eq!((code, stdout.trim()), (0, "valid"), "{stderr}");

    let (code, stdout, _) = verify(&dir, &scheme, SW_HEADERS, br#"{"test": 1}"#);
    assert_eq!((code, stdout.trim()), (1, "invalid: no signature matches any signing secret"));

    let later = ["--scheme", "standard-webhooks", "--secret", SW_SECRET, "--now", "1614266000"];
    let (code, stdout, _) = verify(&dir, &later, SW_HEADERS, body);
    assert_eq!(code, 1);
    assert!(stdout.contains("too old"), "{stdout}");

    // Rotation: the old secret no longer matches, the new one given too does.
    let rotated = [
        "--scheme",
        "standard-webhooks",
        "--secret",
        "whsec_b2xkIHNlY3JldA==",
        "--secret",
        SW_SECRET,
        "--now",
        "1614265330",
    ];
    assert_eq!(verify(&dir, &rotated, SW_HEADERS, body).0, 0);
}

#[test]
fn github_and_slack_examples_verify_and_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let github = "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n";
    let (code, stdout, stderr) =
        verify(&dir, &["--scheme", "github", "--secret", "It's a Secret to Everybody"], github, b"Hello, World!");
    assert_eq!((code, stdout.trim()), (0, "valid"), "{stderr}");

    let slack = "X-Slack-Request-Timestamp: 1531420618\n\
        X-Slack-Signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503\n";
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let args = ["--scheme", "slack", "--secret", "8f742231b10e8888abcd99yyyzzz85a5", "--now", "1531420618"];
    assert_eq!(verify(&dir, &args, slack, body.as_bytes()).0, 0);

    let (code, _, stderr) = verify(&dir, &["--scheme", "github", "--secret", "s"], "not a header line\n", b"x");
    assert_eq!(code, 2);
    assert!(stderr.contains("--headers-file"), "{stderr}");
    let (code, _, _) = verify(&dir, &["--scheme", "carrier-pigeon", "--secret", "s"], github, b"x");
    assert_eq!(code, 2, "an unknown scheme is a usage error");
}
