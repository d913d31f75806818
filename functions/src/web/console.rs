//! The console (issues 36 and 38): the single-page app built from `console/` (TypeScript, Vite)
//! into `console/dist/`, embedded in the binaries that serve it: `users-local serve` and, on
//! AWS, the `users-console` function, both at `/console/` (and `/console`: API Gateway's routes do not
//! tell `/console/` from `/console/{proxy+}` with nothing in it, so the page answers at both).
//! It calls only the public API, on the same origin.
//!
//! - Assets have hashed names (`assets/index-<hash>.js`): `Cache-Control: immutable` for a
//!   year. `index.html` is `no-cache`, so a new build is picked up at once.
//! - Each file has a gzip copy made at build time (`name.gz`), sent to clients that accept
//!   gzip (`Content-Encoding: gzip`, `Vary: Accept-Encoding`); nothing is compressed per request.
//! - A strict Content-Security-Policy: scripts, styles and requests from this origin only, no
//!   inline script or style, no framing; `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer`.

use lambda_http::Body;
use lambda_http::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::request::Parts;
use lambda_http::http::{HeaderValue, Method, Response, StatusCode};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../console/dist/"]
struct Assets;

/// Where the console is served.
pub const PATH: &str = "/console/";

/// The Content-Security-Policy of every console answer.
pub const CONTENT_SECURITY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The console's answer to a request, or `None` for a path outside it.
pub fn answer(parts: &Parts) -> Option<Response<Body>> {
    let path = parts.uri.path();
    let name = if path == PATH.trim_end_matches('/') {
        ""
    } else {
        path.strip_prefix(PATH)?
    };
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return Some(secured(shared::http::method_not_allowed(
            parts.method.as_str(),
            "GET, HEAD",
        )));
    }
    let name = if name.is_empty() { "index.html" } else { name };
    // The gzip copies are reached only through Accept-Encoding.
    let file = (!name.ends_with(".gz")).then(|| Assets::get(name)).flatten();
    let Some(file) = file else {
        return Some(secured(status(StatusCode::NOT_FOUND, "Not found")));
    };
    let gzip = accepts_gzip(parts)
        .then(|| Assets::get(&format!("{name}.gz")))
        .flatten();
    let compressed = gzip.is_some();
    let data = gzip.unwrap_or(file).data.into_owned();
    let mut response = Response::new(if parts.method == Method::HEAD {
        Body::Empty
    } else {
        Body::Binary(data)
    });
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if compressed {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Some(secured(response))
}

fn accepts_gzip(parts: &Parts) -> bool {
    parts
        .headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn status(code: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn secured(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str, encoding: Option<&str>) -> Parts {
        let mut builder = lambda_http::http::Request::builder().method(method).uri(path);
        if let Some(encoding) = encoding {
            builder = builder.header(ACCEPT_ENCODING, encoding);
        }
        builder.body(()).expect("request").into_parts().0
    }

    fn asset(extension: &str) -> String {
        Assets::iter()
            .find(|name| name.starts_with("assets/") && name.ends_with(extension))
            .expect("a built asset")
            .into_owned()
    }

    #[test]
    fn index_is_not_cached_assets_are_immutable_and_every_answer_is_secured() {
        let index = answer(&request(Method::GET, "/console/", None)).expect("the console");
        assert_eq!(index.status(), 200);
        assert_eq!(index.headers()[CACHE_CONTROL], "no-cache");
        assert_eq!(index.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(index.headers()[CONTENT_SECURITY_POLICY], CONTENT_SECURITY);
        assert_eq!(index.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        let script = answer(&request(Method::GET, &format!("/console/{}", asset(".js")), None)).unwrap();
        assert_eq!(script.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(script.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(script.headers().get(CONTENT_ENCODING).is_none());
        let missing = answer(&request(Method::GET, "/console/nope.js", None)).unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.headers()[CONTENT_SECURITY_POLICY], CONTENT_SECURITY);
        assert!(answer(&request(Method::GET, "/identity/v2/user/get", None)).is_none());
        let bare = answer(&request(Method::GET, "/console", None)).unwrap();
        assert_eq!(bare.status(), 200);
        assert_eq!(bare.headers()[CACHE_CONTROL], "no-cache");
        assert_eq!(bare.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(answer(&request(Method::GET, "/consoles", None)).is_none());
        let post = answer(&request(Method::POST, "/console/", None)).unwrap();
        assert_eq!(post.status(), 405);
    }

    #[test]
    fn gzip_goes_to_clients_that_accept_it() {
        let name = format!("/console/{}", asset(".js"));
        let plain = answer(&request(Method::GET, &name, None)).unwrap();
        let zipped = answer(&request(Method::GET, &name, Some("br, gzip;q=0.8"))).unwrap();
        assert_eq!(zipped.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(zipped.headers()[VARY], "Accept-Encoding");
        let size = |r: &Response<Body>| match r.body() {
            Body::Binary(bytes) => bytes.len(),
            _ => 0,
        };
        assert!(
            size(&zipped) < size(&plain) / 2,
            "{} vs {}",
            size(&zipped),
            size(&plain)
        );
        let refused = answer(&request(Method::GET, &name, Some("gzip;q=0"))).unwrap();
        assert!(refused.headers().get(CONTENT_ENCODING).is_none());
        // The copies themselves are not paths.
        let copy = answer(&request(Method::GET, &format!("{name}.gz"), Some("gzip"))).unwrap();
        assert_eq!(copy.status(), 404);
    }
}
