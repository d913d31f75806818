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
    start_custom(data_dir, env, &[], "")
}

/// Starts the server with extra arguments, through `sh -c` so that `shell` (say `umask 000;
/// ulimit -n 64;`) sets up the process first.
fn start_custom(data_dir: &std::path::Path, env: &[(&str, &str)], args: &[&str], shell: &str) -> Server {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{shell} exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(["serve", "--port", "0"])
        .args(args)
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
    let table = tests::moto::unique_table();
    let env = [
        ("USERS_TABLE", table.as_str()),
        ("AWS_ENDPOINT_URL", tests::moto::endpoint()),
        ("AWS_REGION", tests::moto::REGION),
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

/// The server answers a plain list.
fn assert_serves(server: &Server) {
    let list = r#"{"domain_id": "domain-local"}"#;
    let (status, body) = post(&server.addr, "/identity/v2/user/list", Some(&server.token), list);
    assert_eq!(status, 200, "{body}");
}

/// Sends `bytes` on a fresh connection and returns the stream (read timeout 10 s).
fn connect_and_send(addr: &str, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(bytes).unwrap();
    stream
}

/// Reads until the server closes the connection; what it sent, and how long that took.
fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the connection was not closed: {e}"),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
}

#[test]
fn half_sent_requests_are_closed_after_the_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_custom(dir.path(), &[], &["--read-timeout", "1"], "");
    // Headers that never end: closed without an answer.
    let mut slow_headers = connect_and_send(&server.addr, b"POST /identity/v2/user/get HTTP/1.1\r\nHost: x\r\n");
    // Headers, then half of the announced body: 408, and closed.
    let head = format!(
        "POST /identity/v2/user/get HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user_id\":",
        server.token
    );
    let mut slow_body = connect_and_send(&server.addr, head.as_bytes());
    let (answer, took) = read_until_closed(&mut slow_headers);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (answer, took) = read_until_closed(&mut slow_body);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    // And the server serves on.
    assert_serves(&server);
}

#[test]
fn a_413_tells_a_keep_alive_client_that_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let body = "x".repeat(300 * 1024);
    let head = format!(
        "POST /identity/v2/user/get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = connect_and_send(&server.addr, head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let (answer, _) = read_until_closed(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
}

#[test]
fn headers_over_the_limit_get_431_with_the_error_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    // Issue 21's finding: a 1 MB Authorization header.
    let head = format!(
        "POST /identity/v2/user/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
    });
    let (answer, _) = read_until_closed(&mut stream);
    let _ = sending.join();
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(lower.contains("content-type: application/json"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    let body: serde_json::Value = serde_json::from_str(body).expect("the error body");
    assert_eq!(body["detail"]["code"], "ERROR_INVALID_PARAMETER", "{body}");
    assert!(
        body["detail"]["message"].as_str().unwrap().contains("headers"),
        "{body}"
    );
    // Headers of 16 KiB are served.
    let tags = "t".repeat(16 * 1024);
    let request = format!(
        "POST /identity/v2/user/list HTTP/1.1\r\nHost: x\r\nX-Padding: {tags}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 29\r\nConnection: close\r\n\r\n{{\"domain_id\": \"domain-local\"}}",
        server.token
    );
    let mut stream = connect_and_send(&server.addr, request.as_bytes());
    let (answer, _) = read_until_closed(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_serves(&server);
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let body = r#"{"domain_id": "domain-local"}"#;
    let head = format!(
        "POST /identity/v2/user/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.token,
        body.len()
    );
    // The request is in flight (its body not sent yet) when the signal comes.
    let mut stream = connect_and_send(&server.addr, head.as_bytes());
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    // No new connections once draining...
    assert!(
        TcpStream::connect(&server.addr).is_err(),
        "a new connection was accepted while draining"
    );
    // ...but the one in flight is answered.
    stream.write_all(body.as_bytes()).unwrap();
    let (answer, _) = read_until_closed(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = wait_for_exit(&mut server.child, Duration::from_secs(12));
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("drained"), "{log}");
}

fn wait_for_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < limit, "the server did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn out_of_file_descriptors_the_server_backs_off_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_custom(dir.path(), &[], &[], "ulimit -n 48;");
    // Hold more connections than the server has descriptors for, for a while.
    let held: Vec<TcpStream> = (0..80).filter_map(|_| TcpStream::connect(&server.addr).ok()).collect();
    std::thread::sleep(Duration::from_secs(2));
    drop(held);
    std::thread::sleep(Duration::from_millis(1500));
    assert_serves(&server);
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    let failures = log.matches("accept failed").count();
    assert!(
        (1..=5).contains(&failures),
        "one line per run of failures, got {failures}: {log}"
    );
}

#[test]
fn what_the_server_writes_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let server = start_custom(&data, &[], &[], "umask 000;");
    let create = r#"{"user_id": "alice", "auth_type": "LOCAL", "permission_group": "DOMAIN", "domain_id": "domain-local", "email": "alice@example.com", "reset_password": true}"#;
    let (status, _) = post(&server.addr, "/identity/v2/user/create", Some(&server.token), create);
    assert_eq!(status, 200);
    drop(server);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut checked = 0;
    let mut walk = vec![data.clone()];
    while let Some(dir) = walk.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "server.log") {
                continue; // the test's own file
            }
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                walk.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
            checked += 1;
        }
    }
    // db/, db/users.redb, dev-signing-key.pem, outbox/, the mail with the temporary password.
    assert!(checked >= 5, "{checked}");
}

#[test]
fn a_data_dir_that_is_a_file_is_named_as_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--port", "0"])
        .env("DATA_DIR", &file)
        .env_remove("IDENTITY_JWKS")
        .env_remove("USERS_TABLE")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATA_DIR") && stderr.contains("is not a folder"),
        "{stderr}"
    );
    assert!(!stderr.contains("dev key"), "{stderr}");
}

/// GETs `path`; the status, the content type and the body.
fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut stream = connect_and_send(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let (answer, _) = read_until_closed(&mut stream);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_default();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

#[test]
fn the_api_document_and_its_page_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let (status, content_type, body) = get(&server.addr, "/openapi.json");
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc, shared::openapi::document());
    assert_eq!(doc["openapi"], "3.1.0");
    let (status, content_type, page) = get(&server.addr, "/docs");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains(r#"spec-url="/openapi.json""#), "{page}");
    let (status, content_type, script) = get(&server.addr, "/docs/redoc.standalone.js");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/javascript"), "{content_type}");
    assert!(script.len() > 100_000);
    // A method a path is not served with is 405, naming the one it is in `Allow` (RFC 9110).
    for (method, path, allow) in [
        ("GET", "/identity/v2/user/get", "post"),
        ("TRACE", "/identity/v2/user/get", "post"),
        ("POST", "/.well-known/jwks.json", "get"),
        ("POST", "/docs", "get"),
        ("DELETE", "/openapi.json", "get"),
    ] {
        let mut stream = connect_and_send(
            &server.addr,
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let (answer, _) = read_until_closed(&mut stream);
        let head = answer
            .split_once("\r\n\r\n")
            .map(|(h, _)| h)
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 405"), "{method} {path}: {head}");
        assert!(head.contains(&format!("\r\nallow: {allow}")), "{method} {path}: {head}");
    }
}

/// Every path of the API document is served by `users-local` with its documented method (an
/// answer of the API, not "No such path"), and a path it does not describe is not.
#[test]
fn every_documented_path_is_served_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let document = shared::openapi::document();
    let mut served = 0;
    for (path, methods) in document["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let (status, body) = if method == "get" {
                let (status, _, body) = get(&server.addr, path);
                (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
            } else {
                post(&server.addr, path, Some(&server.token), "{}")
            };
            let message = body["detail"]["message"].as_str().unwrap_or_default();
            assert!(!message.starts_with("No such path"), "{method} {path}: {status} {body}");
            assert!(status != 405, "{method} {path}: {status} {body}");
            served += 1;
        }
    }
    assert_eq!(served, 22);
    for path in ["/identity/v2/user/nope", "/identity/v2/token/", "/identity/v1/user/get"] {
        let (status, body) = post(&server.addr, path, Some(&server.token), "{}");
        assert_eq!(status, 404, "{path}");
        let message = body["detail"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("No such path"), "{path}: {body}");
    }
}
