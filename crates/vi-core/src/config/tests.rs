//! Unit tests of configuration resolution.

use super::file::expand_tilde;
use super::*;
use std::collections::HashMap;
use std::path::Path;

fn key(fill: char) -> String {
    let mut k = String::from(SECRET_KEY_PREFIX);
    k.extend(std::iter::repeat_n(
        fill,
        SECRET_KEY_LEN - SECRET_KEY_PREFIX.len(),
    ));
    k
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn message(err: Error) -> String {
    match err {
        Error::Config { message } => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn file_json(secret: Option<&str>, org: Option<&str>) -> String {
    let mut map = serde_json::Map::new();
    if let Some(s) = secret {
        map.insert("secret_key".into(), s.into());
    }
    if let Some(o) = org {
        map.insert("organization_id".into(), o.into());
    }
    map.insert("unrelated".into(), 42.into());
    serde_json::Value::Object(map).to_string()
}

#[test]
fn minimal_builder_uses_defaults() {
    let config = ConfigBuilder::new()
        .secret_key(key('a'))
        .organization_id("org-1")
        .build_with_env(&no_env)
        .unwrap();
    assert_eq!(config.endpoint.as_str(), DEFAULT_ENDPOINT);
    assert_eq!(config.secret_key.expose(), key('a'));
    assert_eq!(config.organization_id.as_str(), "org-1");
    assert_eq!(config.connect_timeout, Duration::from_secs(60));
    assert_eq!(config.read_timeout, Duration::from_secs(300));
    assert_eq!(config.retry, RetryPolicy::default());
    assert_eq!(config.user_agent, default_user_agent());
    assert!(
        config
            .user_agent
            .starts_with(&format!("vi-rs/{} (Rust; ", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn secret_key_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.json",
        &file_json(Some(&key('f')), Some("org")),
    );
    let env = env_of(&[(ENV_SECRET_KEY, &key('e'))]);
    let build = |b: ConfigBuilder, env: &dyn Fn(&str) -> Option<String>| {
        b.config_file(&file).build_with_env(env).unwrap()
    };
    let c = build(ConfigBuilder::new().secret_key(key('b')), &env);
    assert_eq!(c.secret_key.expose(), key('b'));
    let c = build(ConfigBuilder::new(), &env);
    assert_eq!(c.secret_key.expose(), key('e'));
    let c = build(ConfigBuilder::new(), &no_env);
    assert_eq!(c.secret_key.expose(), key('f'));
    // An empty env var and an empty builder value count as unset.
    let blank = env_of(&[(ENV_SECRET_KEY, "  ")]);
    let c = build(ConfigBuilder::new().secret_key(""), &blank);
    assert_eq!(c.secret_key.expose(), key('f'));
}

#[test]
fn organization_id_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.json",
        &file_json(Some(&key('f')), Some("org-file")),
    );
    let env = env_of(&[(ENV_ORGANIZATION_ID, "org-env")]);
    let c = ConfigBuilder::new()
        .organization_id("org-arg")
        .config_file(&file)
        .build_with_env(&env)
        .unwrap();
    assert_eq!(c.organization_id.as_str(), "org-arg");
    let c = ConfigBuilder::new()
        .config_file(&file)
        .build_with_env(&env)
        .unwrap();
    assert_eq!(c.organization_id.as_str(), "org-env");
    let c = ConfigBuilder::new()
        .config_file(&file)
        .build_with_env(&env_of(&[(ENV_ORGANIZATION_ID, "")]))
        .unwrap();
    assert_eq!(c.organization_id.as_str(), "org-file");
    // Resolved independently: key from the builder, org from the env, trimmed.
    let c = ConfigBuilder::new()
        .secret_key(format!(" {}\n", key('b')))
        .build_with_env(&env_of(&[(ENV_ORGANIZATION_ID, " org-env\n")]))
        .unwrap();
    assert_eq!(c.secret_key.expose(), key('b'));
    assert_eq!(c.organization_id.as_str(), "org-env");
}

#[test]
fn endpoint_precedence() {
    let env = env_of(&[
        (ENV_ENDPOINT, "http://127.0.0.1:9000"),
        (ENV_SECRET_KEY, &key('e')),
        (ENV_ORGANIZATION_ID, "org"),
    ]);
    let c = ConfigBuilder::new()
        .endpoint("http://localhost:8080/")
        .build_with_env(&env)
        .unwrap();
    assert_eq!(c.endpoint.as_str(), "http://localhost:8080/");
    let c = ConfigBuilder::new().build_with_env(&env).unwrap();
    assert_eq!(c.endpoint.as_str(), "http://127.0.0.1:9000/");
    let env = env_of(&[
        (ENV_ENDPOINT, ""),
        (ENV_SECRET_KEY, &key('e')),
        (ENV_ORGANIZATION_ID, "org"),
    ]);
    let c = ConfigBuilder::new().build_with_env(&env).unwrap();
    assert_eq!(c.endpoint.as_str(), DEFAULT_ENDPOINT);
}

/// A configuration for `url`; plain-http hosts off this machine are opted in, since these
/// tests are about parsing (the refusal has its own test).
fn with_endpoint(url: &str) -> Result<Config, Error> {
    ConfigBuilder::new()
        .endpoint(url)
        .allow_insecure_http(true)
        .secret_key(key('a'))
        .organization_id("org")
        .build_with_env(&no_env)
}

#[test]
fn endpoint_keeps_only_the_origin() {
    for (input, origin) in [
        ("https://api.vi.datature.com", "https://api.vi.datature.com"),
        (
            "https://api.vi.datature.com/",
            "https://api.vi.datature.com",
        ),
        (
            "https://api.vi.datature.com:443/",
            "https://api.vi.datature.com",
        ),
        ("http://127.0.0.1:8080/api/v1/", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080"),
        ("http://user:pw@host.example/x?y=1#z", "http://host.example"),
        ("HTTP://Example.COM:80", "http://example.com"),
        ("http://[::1]:9000/p", "http://[::1]:9000"),
    ] {
        let c = with_endpoint(input).unwrap();
        assert_eq!(c.origin(), origin, "{input}");
        assert_eq!(c.endpoint.as_str(), format!("{origin}/"), "{input}");
        assert_eq!(
            c.api_url("/workspaces/o/datasets?s=10"),
            format!("{origin}/workspaces/o/datasets?s=10")
        );
    }
}

#[test]
fn api_url_joining() {
    let c = with_endpoint("http://localhost:8080/").unwrap();
    assert_eq!(
        c.api_url("/workspaces/org/datasets"),
        "http://localhost:8080/workspaces/org/datasets"
    );
    assert_eq!(
        c.api_url("workspaces/org"),
        "http://localhost:8080/workspaces/org"
    );
    assert_eq!(c.api_url(""), "http://localhost:8080/");
    assert_eq!(c.api_url("/"), "http://localhost:8080/");
}

#[test]
fn bad_endpoints_rejected() {
    for (input, needle) in [
        ("ftp://example.com", "only http and https"),
        ("file:///tmp/x", "only http and https"),
        ("localhost:8080", "only http and https"),
        ("api.vi.datature.com", "not a valid URL"),
        ("http://", "not a valid URL"),
        ("https://exa mple.com", "not a valid URL"),
    ] {
        let msg = message(with_endpoint(input).unwrap_err());
        assert!(msg.contains(needle), "{input}: {msg}");
        assert!(msg.contains("passed to ConfigBuilder::endpoint"), "{msg}");
    }
    let env = env_of(&[(ENV_ENDPOINT, "ftp://x?sig=secret")]);
    let msg = message(
        ConfigBuilder::new()
            .secret_key(key('a'))
            .organization_id("o")
            .build_with_env(&env)
            .unwrap_err(),
    );
    assert!(msg.contains(ENV_ENDPOINT), "{msg}");
    assert!(!msg.contains("secret"), "{msg}");
}

#[test]
fn missing_values_say_what_was_tried() {
    let msg = message(ConfigBuilder::new().build_with_env(&no_env).unwrap_err());
    assert!(msg.starts_with("no secret key"), "{msg}");
    for needle in [
        "ConfigBuilder::secret_key",
        "DATATURE_VI_SECRET_KEY is not set",
        "no config file was given",
        "Settings → Secret keys",
        "export DATATURE_VI_SECRET_KEY=",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in {msg}");
    }

    let msg = message(
        ConfigBuilder::new()
            .secret_key(key('a'))
            .build_with_env(&no_env)
            .unwrap_err(),
    );
    assert!(msg.starts_with("no organization id"), "{msg}");
    assert!(
        msg.contains("DATATURE_VI_ORGANIZATION_ID is not set"),
        "{msg}"
    );
    assert!(msg.contains("ConfigBuilder::organization_id"), "{msg}");

    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "c.json", &file_json(Some(&key('f')), None));
    let msg = message(
        ConfigBuilder::new()
            .config_file(&file)
            .build_with_env(&no_env)
            .unwrap_err(),
    );
    assert!(msg.contains("has no \"organization_id\""), "{msg}");
    assert!(msg.contains(&file.display().to_string()), "{msg}");
}

#[test]
fn file_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let bad_json = write_file(dir.path(), "bad.json", "{ \"secret_key\": ");
    let not_object = write_file(dir.path(), "array.json", "[1, 2]");
    let wrong_type = write_file(dir.path(), "num.json", "{\"secret_key\": 5}");
    for (path, needle) in [
        (&missing, "cannot read the config file"),
        (&bad_json, "is not valid JSON"),
        (&not_object, "is not a JSON object"),
        (&wrong_type, "\"secret_key\" must be a string"),
    ] {
        let msg = message(
            ConfigBuilder::new()
                .config_file(path)
                .build_with_env(&no_env)
                .unwrap_err(),
        );
        assert!(msg.contains(needle), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }
    // A file that is not needed is not read.
    let c = ConfigBuilder::new()
        .config_file(&missing)
        .build_with_env(&env_of(&[
            (ENV_SECRET_KEY, &key('e')),
            (ENV_ORGANIZATION_ID, "org"),
        ]))
        .unwrap();
    assert_eq!(c.organization_id.as_str(), "org");
}

#[test]
fn tilde_is_expanded() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".vi")).unwrap();
    write_file(
        &home.path().join(".vi"),
        "config.json",
        &file_json(Some(&key('h')), Some("org-home")),
    );
    let home_str = home.path().to_str().unwrap().to_owned();
    let c = ConfigBuilder::new()
        .config_file("~/.vi/config.json")
        .build_with_env(&env_of(&[("HOME", &home_str)]))
        .unwrap();
    assert_eq!(c.secret_key.expose(), key('h'));
    assert_eq!(c.organization_id.as_str(), "org-home");
    // USERPROFILE when HOME is unset.
    let c = ConfigBuilder::new()
        .config_file("~/.vi/config.json")
        .build_with_env(&env_of(&[("USERPROFILE", &home_str)]))
        .unwrap();
    assert_eq!(c.organization_id.as_str(), "org-home");
    // A missing file under ~ is named by its expanded path.
    let msg = message(
        ConfigBuilder::new()
            .config_file("~/missing.json")
            .build_with_env(&env_of(&[("HOME", &home_str)]))
            .unwrap_err(),
    );
    assert!(
        msg.contains(&home.path().join("missing.json").display().to_string()),
        "{msg}"
    );
    // No home directory known.
    let msg = message(
        ConfigBuilder::new()
            .config_file("~/x.json")
            .build_with_env(&no_env)
            .unwrap_err(),
    );
    assert!(msg.contains("cannot expand \"~\""), "{msg}");
    assert_eq!(
        expand_tilde(Path::new("~"), &env_of(&[("HOME", "/h")])).unwrap(),
        PathBuf::from("/h")
    );
    assert_eq!(
        expand_tilde(Path::new("~user/x"), &no_env).unwrap(),
        PathBuf::from("~user/x")
    );
}

#[test]
fn bad_keys_never_echoed() {
    let long = format!("{}zz", key('q'));
    let cases = [
        (
            "wrong prefix",
            format!("dtva_{}", &key('q')[5..]),
            "does not start with",
        ),
        (
            "too short",
            "dtvi_qqqqqqqq".to_owned(),
            "13 characters long, not 103",
        ),
        ("too long", long.clone(), "105 characters long, not 103"),
        ("bad chars", format!("dtvi_{}", "é".repeat(98)), "non-ASCII"),
    ];
    for (what, bad, needle) in cases {
        for err in [
            SecretKey::new(bad.clone()).unwrap_err(),
            ConfigBuilder::new()
                .organization_id("o")
                .build_with_env(&env_of(&[(ENV_SECRET_KEY, &bad)]))
                .unwrap_err(),
        ] {
            let msg = message(err);
            assert!(msg.contains(needle), "{what}: {msg}");
            assert!(!msg.contains(&bad), "{what}: key echoed in {msg}");
            assert!(
                !msg.contains("qqqq"),
                "{what}: key fragment echoed in {msg}"
            );
        }
    }
    let msg = message(
        ConfigBuilder::new()
            .organization_id("o")
            .build_with_env(&env_of(&[(ENV_SECRET_KEY, "dtvi_qqqqqqqq")]))
            .unwrap_err(),
    );
    assert!(msg.contains("from DATATURE_VI_SECRET_KEY"), "{msg}");
    assert!(msg.contains("prefix is right"), "{msg}");
    let msg = message(SecretKey::new("x".repeat(103)).unwrap_err());
    assert!(!msg.contains("prefix is right"), "{msg}");
    assert!(msg.contains("does not start with"), "{msg}");
}

#[test]
fn secrets_never_printed() {
    let secret = key('s');
    let k = SecretKey::new(secret.clone()).unwrap();
    assert_eq!(format!("{k}"), "dtvi_…(redacted)");
    assert_eq!(format!("{k:?}"), "dtvi_…(redacted)");
    let builder = ConfigBuilder::new()
        .secret_key(secret.clone())
        .organization_id("org");
    assert!(!format!("{builder:?}").contains("sssss"));
    let config = builder.build_with_env(&no_env).unwrap();
    for text in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains("sssss"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }
    let headers = config.auth_headers();
    assert!(!format!("{headers:?}").contains("sssss"));
}

#[test]
fn auth_headers_contents() {
    let config = ConfigBuilder::new()
        .secret_key(key('a'))
        .organization_id("5c1d7e2a-93f4")
        .user_agent("my-tool/1.2")
        .build_with_env(&no_env)
        .unwrap();
    let h = config.auth_headers();
    let auth = h.get(header::AUTHORIZATION).unwrap();
    assert!(auth.is_sensitive());
    assert_eq!(auth.to_str().unwrap(), format!("Bearer {}", key('a')));
    assert_eq!(h.get("Organization-Id").unwrap(), "5c1d7e2a-93f4");
    assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(h.get(header::ACCEPT).unwrap(), "application/json");
    assert_eq!(
        h.get(header::USER_AGENT).unwrap().to_str().unwrap(),
        format!("{} my-tool/1.2", default_user_agent())
    );
    assert_eq!(h.len(), 5);
}

#[test]
fn other_validation() {
    let base = || {
        ConfigBuilder::new()
            .secret_key(key('a'))
            .organization_id("o")
    };
    let msg = message(
        base()
            .user_agent("bad\nagent")
            .build_with_env(&no_env)
            .unwrap_err(),
    );
    assert!(msg.contains("user agent"), "{msg}");
    let msg = message(
        base()
            .connect_timeout(Duration::ZERO)
            .build_with_env(&no_env)
            .unwrap_err(),
    );
    assert!(msg.contains("connect timeout is zero"), "{msg}");
    let msg = message(
        ConfigBuilder::new()
            .secret_key(key('a'))
            .organization_id("a/b")
            .build_with_env(&no_env)
            .unwrap_err(),
    );
    assert!(
        msg.contains("organization id (passed to ConfigBuilder::organization_id)"),
        "{msg}"
    );
    let msg = message(
        ConfigBuilder::new()
            .secret_key(key('a'))
            .organization_id("orgé")
            .build_with_env(&no_env)
            .unwrap_err(),
    );
    assert!(msg.contains("non-ASCII"), "{msg}");
    let c = base()
        .read_timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build_with_env(&no_env)
        .unwrap();
    assert_eq!(c.read_timeout, Duration::from_secs(5));
    assert_eq!(c.retry, RetryPolicy::none());
}

#[test]
fn cleartext_endpoints_off_this_machine_need_an_opt_in() {
    let env = env_of(&[]);
    let with = |endpoint: &str, allow: bool| {
        ConfigBuilder::new()
            .endpoint(endpoint)
            .secret_key(key('a'))
            .organization_id("org-1")
            .allow_insecure_http(allow)
            .build_with_env(&env)
    };
    for local in [
        "http://127.0.0.1:8080",
        "http://localhost:9",
        "http://[::1]:9",
        "http://127.3.4.5",
    ] {
        assert!(with(local, false).is_ok(), "{local} is this machine");
    }
    for remote in ["http://10.0.0.7:8080", "http://api.example.com/"] {
        let message = with(remote, false).unwrap_err().to_string();
        assert!(message.contains("allow_insecure_http"), "{message}");
        assert!(message.contains("unencrypted"), "{message}");
        let config = with(remote, true).unwrap();
        assert!(config.allow_insecure_http);
    }
    assert!(with("https://api.example.com/", false).is_ok());
}

#[test]
fn the_config_file_may_give_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"{{"secret_key": "{}", "organization_id": "org", "endpoint": "http://127.0.0.1:9/x"}}"#,
        key('f')
    );
    let path = write_file(dir.path(), "with-endpoint.json", &text);
    let c = ConfigBuilder::new()
        .config_file(&path)
        .build_with_env(&no_env)
        .unwrap();
    assert_eq!(c.endpoint.as_str(), "http://127.0.0.1:9/");
    // The environment comes first, then the file.
    let c = ConfigBuilder::new()
        .config_file(&path)
        .build_with_env(&env_of(&[(ENV_ENDPOINT, "https://example.test")]))
        .unwrap();
    assert_eq!(c.endpoint.as_str(), "https://example.test/");
    // With the key and organization in the environment, the file is still read for the
    // endpoint (a malformed one is named with its source)...
    let bad = write_file(dir.path(), "bad.json", r#"{"endpoint": "ftp://x"}"#);
    let msg = message(
        ConfigBuilder::new()
            .config_file(&bad)
            .build_with_env(&env_of(&[
                (ENV_SECRET_KEY, &key('g')),
                (ENV_ORGANIZATION_ID, "org"),
            ]))
            .unwrap_err(),
    );
    assert!(
        msg.contains("from the config file") && msg.contains("ftp"),
        "{msg}"
    );
}
