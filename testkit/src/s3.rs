//! A real S3-compatible server for tests: moto's server mode, started on a free
//! loopback port (installed with pip on first use if missing, as the OpenID tests
//! install their provider with npm). Buckets and objects are created through
//! boto3, as any S3 client would (moto refuses unsigned requests).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "portico-test-key";
pub const SECRET_KEY: &str = "portico-test-secret";
pub const REGION: &str = "us-east-1";

pub struct MotoS3 {
    child: Child,
    port: u16,
}

impl MotoS3 {
    /// Starts moto, installing it first if this machine lacks it.
    pub fn start() -> Self {
        ensure_installed();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs moto");
        let server = Self { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn boto3(&self, script: &str, args: &[&str]) {
        let program = format!(
            "import sys, boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{ACCESS_KEY}', \
             aws_secret_access_key='{SECRET_KEY}', region_name='{REGION}')\n{script}",
            self.endpoint()
        );
        let status = Command::new("python3").arg("-c").arg(program).args(args).status().expect("python3 runs");
        assert!(status.success(), "boto3 call failed: {script}");
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.boto3("s3.create_bucket(Bucket=sys.argv[1])", &[bucket]);
    }

    pub fn put(&self, bucket: &str, key: &str, body: &str) {
        self.boto3(
            "s3.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=sys.argv[3].encode())",
            &[bucket, key, body],
        );
    }

    /// `count` small objects `{prefix}{n:05}` (one client for all of them).
    pub fn put_many(&self, bucket: &str, prefix: &str, count: usize) {
        self.boto3(
            "for n in range(int(sys.argv[3])):\n    s3.put_object(Bucket=sys.argv[1], Key=f'{sys.argv[2]}{n:05}', Body=str(n).encode())",
            &[bucket, prefix, &count.to_string()],
        );
    }

    pub fn delete(&self, bucket: &str, key: &str) {
        self.boto3("s3.delete_object(Bucket=sys.argv[1], Key=sys.argv[2])", &[bucket, key]);
    }
}

/// `pip install 'moto[server]'` once per test process, when `import moto.server` fails.
fn ensure_installed() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let importable = |module: &str| {
            Command::new("python3")
                .args(["-c", &format!("import {module}")])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        if importable("moto.server") && importable("boto3") {
            return;
        }
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "moto[server]==5.*"])
            .status()
            .expect("python3 runs pip");
        assert!(status.success(), "could not install moto[server] with pip");
    });
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
