//! Where the key integration secrets are sealed with comes from:
//! `CONTACTS_SECRET_KEY` (base64 of 32 bytes), or else a key file, made
//! with mode 0600 on the first start and read on every later one. The key
//! is never a command-line flag: arguments are visible to every user of
//! the machine.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::store::secret_box::SecretKey;

pub const KEY_ENV: &str = "CONTACTS_SECRET_KEY";

/// Where a key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
}

/// The key file's place when none is named: beside a SQLite database
/// (`contacts.db.key`), else `contacts.key` in the working directory.
pub fn default_path(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && !path.contains(":memory:"));
    match file {
        Some(path) => PathBuf::from(format!("{path}.key")),
        None => PathBuf::from("contacts.key"),
    }
}

/// The key from the environment, else from `file` (created when missing).
pub fn load(file: &Path) -> Result<(SecretKey, KeySource), String> {
    if let Ok(text) = std::env::var(KEY_ENV) {
        let key = SecretKey::from_base64(&text).map_err(|err| format!("{KEY_ENV}: {err}"))?;
        return Ok((key, KeySource::Env));
    }
    let key = match read(file)? {
        Some(key) => key,
        None => create(file)?,
    };
    Ok((key, KeySource::File(file.to_owned())))
}

fn read(file: &Path) -> Result<Option<SecretKey>, String> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("{}: {err}", file.display())),
    };
    let mode = fs::metadata(file)
        .map_err(|err| format!("{}: {err}", file.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "{}: the key file may be read by other users (mode {:o}); run chmod 600 on it",
            file.display(),
            mode & 0o777
        ));
    }
    SecretKey::from_base64(&text)
        .map(Some)
        .map_err(|err| format!("{}: {err}", file.display()))
}

/// Makes a key file holding a new key. Written whole under another name
/// and linked into place, so a process starting at the same moment reads
/// either no file or the whole key, and the one that loses the race reads
/// the winner's.
fn create(file: &Path) -> Result<SecretKey, String> {
    let key = SecretKey::generate();
    let staged = write_staged(file, &key)?;
    let linked = fs::hard_link(&staged, file);
    let _ = fs::remove_file(&staged);
    match linked {
        Ok(()) => {
            tracing::info!(file = %file.display(), "made a new key for integration secrets");
            Ok(key)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            read(file)?.ok_or_else(|| format!("{}: vanished while being made", file.display()))
        }
        Err(err) => Err(format!("{}: {err}", file.display())),
    }
}

/// `secrets rotate`, first step: the new key is written beside the key
/// file (`<file>.next`) before any secret is sealed with it, so an
/// interrupted rotation never loses the key the database needs.
pub fn stage_next(file: &Path, key: &SecretKey) -> Result<PathBuf, String> {
    let next = PathBuf::from(format!("{}.next", file.display()));
    write_new(&next, key).map_err(|err| {
        format!("{err} (a rotation may have been interrupted: the secrets are sealed with the key in this file or in the key file; keep both until one works)")
    })?;
    Ok(next)
}

/// `secrets rotate`, last step: the new key takes the key file's place.
pub fn promote(next: &Path, file: &Path) -> Result<(), String> {
    fs::rename(next, file).map_err(|err| format!("{}: {err}", file.display()))
}

fn write_staged(file: &Path, key: &SecretKey) -> Result<PathBuf, String> {
    let staged = PathBuf::from(format!(
        "{}.{}-{}.new",
        file.display(),
        std::process::id(),
        rand::random::<u32>()
    ));
    write_new(&staged, key)?;
    Ok(staged)
}

fn write_new(staged: &Path, key: &SecretKey) -> Result<(), String> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(staged)
        .map_err(|err| format!("{}: {err}", staged.display()))?;
    writeln!(out, "{}", key.to_base64())
        .and_then(|()| out.sync_all())
        .map_err(|err| format!("{}: {err}", staged.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_sits_beside_a_sqlite_database() {
        assert_eq!(
            default_path("sqlite://data/contacts.db?mode=rwc"),
            PathBuf::from("data/contacts.db.key")
        );
        assert_eq!(
            default_path("postgres://postgres@localhost/contacts"),
            PathBuf::from("contacts.key")
        );
        assert_eq!(
            default_path("sqlite::memory:"),
            PathBuf::from("contacts.key")
        );
    }

    #[test]
    fn a_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("contacts.key");
        let made = create(&file).unwrap();
        let mode = fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read(&file).unwrap(), Some(made.clone()));
        // A second maker finds it and keeps it.
        assert_eq!(create(&file).unwrap(), made);
        let others: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(others.len(), 1, "no staged file is left behind");
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("contacts.key");
        create(&file).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read(&file).unwrap_err().contains("chmod 600"));
    }
}
