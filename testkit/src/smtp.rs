//! A real SMTP server for tests: aiosmtpd (Python), started on a free loopback
//! port (installed with pip on first use if missing, as moto is). It writes each
//! message it accepts to a folder, answers 421 to `busy…@` recipients twice and
//! 550 to `reject…@` ones, and offers no STARTTLS (`python/smtp_server.py`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    child: Child,
    port: u16,
    folder: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start() -> Self {
        ensure_installed();
        let folder = tempfile::tempdir().expect("a folder for the messages");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/smtp_server.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(folder.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs aiosmtpd");
        let server = Self { child, port, folder };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages accepted so far, oldest first, as received.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
            .unwrap_or_default();
        files.retain(|path| path.extension().is_some_and(|extension| extension == "eml"));
        files.sort();
        files.into_iter().map(|path| readable(&std::fs::read_to_string(path).unwrap())).collect()
    }

    /// Each answer to a recipient or a message, in order: `421 busy@…`, `250 …`.
    pub fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.folder.path().join("log.txt"))
            .map(|log| log.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// A raw message as a mail client shows it: its bodies' quoted-printable
/// encoding (soft line breaks, `=3D`) undone, headers as they are. Long lines,
/// links among them, travel quoted-printable.
pub fn readable(raw: &str) -> String {
    let Some((head, body)) = raw.split_once("\r\n\r\n") else { return raw.to_owned() };
    if !raw.contains("Content-Transfer-Encoding: quoted-printable") {
        return raw.to_owned();
    }
    let bytes = body.replace("=\r\n", "").into_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|byte| (*byte as char).to_digit(16));
        match (bytes[index], hex(index + 1), hex(index + 2)) {
            (b'=', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                index += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&decoded))
}

/// `pip install aiosmtpd` once per test process, when it cannot be imported.
fn ensure_installed() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let importable = Command::new("python3")
            .args(["-c", "import aiosmtpd.controller"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if importable {
            return;
        }
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "aiosmtpd==1.4.*"])
            .status()
            .expect("python3 runs pip");
        assert!(status.success(), "could not install aiosmtpd with pip");
    });
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
