//! Where the server is and who we are to it. Each setting comes from the
//! first of: command-line flag, environment variable, config file
//! (`<config dir>/contacts/config.toml`), built-in default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/graphql";

/// What the client needs to talk to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The GraphQL endpoint.
    pub url: String,
    /// `None` is allowed: the server then refuses every request and the
    /// client shows how to supply a token instead of failing to start.
    pub token: Option<String>,
}

/// The flags; clap fills `url` and `token` from the environment too.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(
    name = "contacts-tui",
    about = "Terminal admin client for the contacts server"
)]
pub struct Args {
    /// GraphQL endpoint, or the server's base URL (`/graphql` is added).
    #[arg(long, env = "CONTACTS_URL")]
    pub url: Option<String>,
    /// API token, as printed by `contacts-server user create`.
    #[arg(long, env = "CONTACTS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Config file to read instead of `<config dir>/contacts/config.toml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// The config file: both keys optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    url: Option<String>,
    token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid config file: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// The server's address lacks `http://` or `https://` (`127.0.0.1:8080`
    /// would be read as a URL of scheme `127.0.0.1`).
    #[error("the server URL {url:?} has no scheme: write http://{url} (or https://{url})")]
    NoScheme { url: String },
    #[error("the server URL {url:?} is not a URL: {reason}")]
    BadUrl { url: String, reason: String },
}

pub fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("contacts").join("config.toml"))
}

impl Config {
    /// Resolves flags and environment (already merged by clap) over the
    /// file. A missing default file is fine; a missing `--config` file or a
    /// malformed one is an error, since the user asked for it.
    pub fn resolve(args: &Args) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => match default_config_path() {
                Some(path) if path.exists() => read_file(&path)?,
                _ => FileConfig::default(),
            },
        };
        let url = args
            .url
            .clone()
            .or(file.url)
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let token = args
            .token
            .clone()
            .or(file.token)
            .map(|token| token.trim().to_owned())
            .filter(|token| !token.is_empty());
        Ok(Config {
            url: endpoint(&checked_url(&url)?),
            token,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// The URL as given, if it is an http or https URL.
fn checked_url(url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    let has_scheme = url.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if !has_scheme {
        return Err(ConfigError::NoScheme {
            url: url.to_owned(),
        });
    }
    let parsed = reqwest::Url::parse(url).map_err(|err| ConfigError::BadUrl {
        url: url.to_owned(),
        reason: err.to_string(),
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(url.to_owned()),
        other => Err(ConfigError::BadUrl {
            url: url.to_owned(),
            reason: format!("the scheme is {other}; the server speaks http or https"),
        }),
    }
}

/// People paste the address `serve` prints (`http://127.0.0.1:8080`); the
/// endpoint is `/graphql` under it.
fn endpoint(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.ends_with("/graphql") {
        url.to_owned()
    } else {
        format!("{url}/graphql")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: Option<&str>, token: Option<&str>, config: Option<PathBuf>) -> Args {
        Args {
            url: url.map(str::to_owned),
            token: token.map(str::to_owned),
            config,
        }
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("contacts-tui-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, "url = \"http://file:1\"\ntoken = \"from-file\"\n").unwrap();

        let from_file = Config::resolve(&args(None, None, Some(path.clone()))).unwrap();
        assert_eq!(from_file.url, "http://file:1/graphql");
        assert_eq!(from_file.token.as_deref(), Some("from-file"));

        let from_flags = Config::resolve(&args(
            Some("http://flag:2/graphql"),
            Some("t"),
            Some(path.clone()),
        ))
        .unwrap();
        assert_eq!(from_flags.url, "http://flag:2/graphql");
        assert_eq!(from_flags.token.as_deref(), Some("t"));

        std::fs::write(&path, "url = 3").unwrap();
        assert!(matches!(
            Config::resolve(&args(None, None, Some(path))),
            Err(ConfigError::Parse { .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_url_without_a_scheme_says_what_to_write() {
        let err = Config::resolve(&args(Some("127.0.0.1:8080"), None, None));
        let Err(err) = err else {
            panic!("no scheme is an error: {err:?}");
        };
        assert_eq!(
            err.to_string(),
            "the server URL \"127.0.0.1:8080\" has no scheme: write http://127.0.0.1:8080 (or https://127.0.0.1:8080)"
        );
        assert!(matches!(
            Config::resolve(&args(Some("ftp://host/"), None, None)),
            Err(ConfigError::BadUrl { .. })
        ));
        assert!(matches!(
            Config::resolve(&args(Some("http://exa mple"), None, None)),
            Err(ConfigError::BadUrl { .. })
        ));
        let fine = Config::resolve(&args(Some(" https://contacts.example.com/ "), None, None));
        assert_eq!(
            fine.ok().map(|config| config.url),
            Some("https://contacts.example.com/graphql".to_owned())
        );
    }

    #[test]
    fn a_missing_named_file_is_an_error() {
        let missing = PathBuf::from("/nonexistent/contacts/config.toml");
        assert!(matches!(
            Config::resolve(&args(Some("http://x"), None, Some(missing))),
            Err(ConfigError::Read { .. })
        ));
    }
}
