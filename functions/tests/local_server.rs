//! The README's first command, for real: `users-local serve` as a process on 127.0.0.1, called
//! over TCP with the token it prints.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_users-local");

struct Server {
    child: Child,
    addr: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    start_with(data_dir, &[])
}

/// Starts the server with extra environment (the DynamoDB store on moto, say).
fn start_with(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0"])
        .env("DATA_DIR", data_dir)
        .env_remove("IDENTITY_JWKS")
        .env_remove("IDENTITY_JWKS_FILE")
        .env_remove("USERS_TABLE")
        .env_remove("MAIL_TRANSPORT")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(data_dir.join("server.log")).unwrap()))
        .spawn()
        .expect("start users-local");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut addr, mut token) = (None, None);
    while addr.is_none() || token.is_none() {
        let line = lines.next().expect("banner line").unwrap();
        if let Some(rest) = line.strip_prefix("users-local listening on http://") {
            addr = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some(t) = line.strip_prefix("export TOKEN=") {
            token = Some(t.to_string());
        }
    }
    // Keep reading stdout so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        addr: addr.unwrap(),
        token: token.unwrap(),
    }
}

fn post(addr: &str, path: &str, token: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer before reading an oversized body; the answer is what matters.
    let _ = stream.write_all(body.as_bytes());
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

#[test]
fn the_printed_token_creates_and_gets_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let create = r#"{"user_id": "alice", "auth_type": "LOCAL", "password": "Wonderland1", "permission_group": "DOMAIN", "domain_id": "domain-local", "email": "alice@example.com"}"#;
    let (status, user) = post(&server.addr, "/identity/v2/user/create", Some(&server.token), create);
    assert_eq!(status, 200, "{user}");
    let (status, got) = post(
        &server.addr,
        "/identity/v2/user/get",
        Some(&server.token),
        r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
    );
    assert_eq!((status, &got), (200, &user));

    // `users-local token` signs with the same dev key.
    let output = Command::new(BIN)
        .args([
            "token",
            "--domain-id",
            "domain-local",
            "--user-id",
            "alice",
            "--role",
            "USER",
        ])
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    let alice = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let (status, _) = post(
        &server.addr,
        "/identity/v2/user/get",
        Some(&alice),
        r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
    );
    assert_eq!(status, 200);
    let (status, body) = post(
        &server.addr,
        "/identity/v2/user/delete",
        Some(&alice),
        r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
    );
    assert_eq!(
        (status, body["detail"]["code"].as_str()),
        (403, Some("ERROR_PERMISSION_DENIED"))
    );

    // verify-email goes to the outbox under DATA_DIR.
    let (status, _) = post(
        &server.addr,
        "/identity/v2/user/verify-email",
        Some(&alice),
        r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(std::fs::read_dir(dir.path().join("outbox")).unwrap().count(), 1);
}

#[test]
fn transport_errors_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let (status, body) = post(&server.addr, "/identity/v2/user/nowhere", Some(&server.token), "{}");
    assert_eq!(
        (status, body["detail"]["code"].as_str()),
        (404, Some("ERROR_NOT_FOUND"))
    );
    let (status, body) = post(
        &server.addr,
        "/identity/v2/user/list",
        Some(&server.token),
        r#"{"domain_id": "domain-local"}"#,
    );
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"results": [], "total_count": 0}))
    );
    let big = format!(
        r#"{{"user_id": "a", "domain_id": "domain-local", "name": "{}"}}"#,
        "x".repeat(256 * 1024)
    );
    let (status, body) = post(&server.addr, "/identity/v2/user/get", Some(&server.token), &big);
    assert_eq!(
        (status, body["detail"]["code"].as_str()),
        (413, Some("ERROR_PAYLOAD_TOO_LARGE"))
    );
}

#[test]
fn data_survives_a_restart_and_logs_hold_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let password = "Wonderland1";
    {
        let server = start(dir.path());
        let create = format!(
            r#"{{"user_id": "bob", "auth_type": "LOCAL", "password": "{password}", "permission_group": "DOMAIN", "domain_id": "domain-local"}}"#
        );
        assert_eq!(
            post(&server.addr, "/identity/v2/user/create", Some(&server.token), &create).0,
            200
        );
    }
    let server = start(dir.path());
    let (status, user) = post(
        &server.addr,
        "/identity/v2/user/get",
        Some(&server.token),
        r#"{"user_id": "bob", "domain_id": "domain-local"}"#,
    );
    assert_eq!((status, user["user_id"].as_str()), (200, Some("bob")));
    let token = server.token.clone();
    drop(server);
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("method=\"get\" status=200"), "one line per request: {log}");
    assert!(log.contains("latency_ms="));
    for secret in [password, token.as_str(), "argon2"] {
        assert!(!log.contains(secret), "log contains a secret: {log}");
    }
}

#[test]
fn create_table_then_serve_on_dynamodb() {
    let dir = tempfile::tempdir().unwrap();
    let table = users_tests::moto::unique_table();
    let env = [
        ("USERS_TABLE", table.as_str()),
        ("AWS_ENDPOINT_URL", users_tests::moto::endpoint()),
        ("AWS_REGION", users_tests::moto::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let create_table = || {
        let output = Command::new(BIN)
            .arg("create-table")
            .env("DATA_DIR", dir.path())
            .envs(env)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(create_table(), format!("{table}: created\n"));
    assert_eq!(create_table(), format!("{table}: already exists\n"));

    let server = start_with(dir.path(), &env);
    let create =
        r#"{"user_id": "alice", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": "domain-local"}"#;
    let (status, user) = post(&server.addr, "/identity/v2/user/create", Some(&server.token), create);
    assert_eq!(status, 200, "{user}");
    drop(server);
    // The user is in DynamoDB, not in the embedded store: a server on the same DATA_DIR
    // without USERS_TABLE does not see it.
    let embedded = start(dir.path());
    let get = r#"{"user_id": "alice", "domain_id": "domain-local"}"#;
    assert_eq!(
        post(&embedded.addr, "/identity/v2/user/get", Some(&embedded.token), get).0,
        404
    );
    drop(embedded);
    let server = start_with(dir.path(), &env);
    let (status, got) = post(&server.addr, "/identity/v2/user/get", Some(&server.token), get);
    assert_eq!((status, &got), (200, &user));
}
