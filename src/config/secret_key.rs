//! The master key that encrypts secrets at rest.
//!
//! Production takes it from configuration (normally `PORTICO_SECRET_KEY`). Development
//! generates one on first start and keeps it beside the database with mode 0600, so a
//! restart can still read what the previous run encrypted.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use super::{ConfigError, Mode, Settings};

pub const KEY_LEN: usize = 32;
const DEV_KEY_FILE: &str = "secret.key";

/// 32 random bytes; `Debug` prints nothing of them.
pub struct MasterKey(SecretBox<[u8; KEY_LEN]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).expect("the operating system's random source is available");
        Self(SecretBox::new(Box::new(bytes)))
    }

    pub fn from_base64(encoded: &SecretString) -> Result<Self, ConfigError> {
        let decoded = BASE64
            .decode(encoded.expose_secret().trim())
            .map_err(|_| ConfigError::new("secret_key", "not valid base64"))?;
        let bytes: [u8; KEY_LEN] = decoded
            .try_into()
            .map_err(|_| ConfigError::new("secret_key", format!("must decode to exactly {KEY_LEN} bytes")))?;
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    pub fn to_base64(&self) -> SecretString {
        SecretString::from(BASE64.encode(self.0.expose_secret()))
    }

    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }

    /// The configured key, or in development the one kept in `data_dir`, generated if absent.
    pub fn resolve(settings: &Settings) -> Result<Self, ConfigError> {
        if let Some(encoded) = &settings.secret_key {
            return Self::from_base64(encoded);
        }
        debug_assert!(settings.mode == Mode::Development, "validate() demands a key in production");
        Self::load_or_create_dev_key(&settings.data_dir)
    }

    fn load_or_create_dev_key(data_dir: &Path) -> Result<Self, ConfigError> {
        let path = data_dir.join(DEV_KEY_FILE);
        let file_error = |error: std::io::Error| {
            ConfigError::new("data_dir", format!("cannot use the development key file {}: {error}", path.display()))
        };
        if !path.exists() {
            fs::create_dir_all(data_dir).map_err(file_error)?;
            if publish_private_file(&path, MasterKey::generate().to_base64().expose_secret().as_bytes())
                .map_err(file_error)?
            {
                tracing::warn!(path = %path.display(), "generated a development master key; set PORTICO_SECRET_KEY in production");
            }
        }
        // Whoever won a race to create it, the file now holds the one key to use.
        let encoded = fs::read_to_string(&path).map_err(file_error)?;
        Self::from_base64(&SecretString::from(encoded))
            .map_err(|error| ConfigError::new("data_dir", format!("{} is corrupt: {}", path.display(), error.message)))
    }
}

/// Writes `contents` to `path`, readable by its owner only, unless the file exists.
///
/// Processes starting together (a `serve` and a `worker`) may race here: the file is
/// written whole under a temporary name, then hard-linked into place, which fails
/// rather than overwrites if another process got there first. Returns whether this
/// call created the file.
fn publish_private_file(path: &Path, contents: &[u8]) -> std::io::Result<bool> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let temporary = path.with_extension(format!("tmp-{nonce}"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| fs::hard_link(&temporary, path));
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            sync_parent_folder(path)?;
            Ok(true)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    }
}

/// Makes a new directory entry durable: the key must outlive a power cut.
fn sync_parent_folder(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.bytes(), again.bytes());
    }

    #[test]
    fn wrong_length_is_refused() {
        let error = MasterKey::from_base64(&SecretString::from(BASE64.encode([1u8; 16]))).unwrap_err();
        assert_eq!(error.key, "secret_key");
    }

    #[test]
    fn debug_reveals_nothing() {
        let key = MasterKey::generate();
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }

    #[test]
    fn racing_processes_agree_on_one_dev_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<[u8; KEY_LEN]> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| *MasterKey::load_or_create_dev_key(dir.path()).unwrap().bytes()))
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|pair| pair[0] == pair[1]));
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only secret.key remains");
    }

    #[test]
    fn dev_key_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load_or_create_dev_key(dir.path()).unwrap();
        let second = MasterKey::load_or_create_dev_key(dir.path()).unwrap();
        assert_eq!(first.bytes(), second.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(DEV_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
