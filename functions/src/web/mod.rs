//! What a browser loads besides the API: the console and the API's documentation. Written once,
//! served by `users-local serve` and by the `users-console` Lambda function alike.

pub mod console;
pub mod docs;

use lambda_http::Body;
use lambda_http::http::Response;
use lambda_http::http::request::Parts;

/// The page, file or document at the request's path, or `None` for a path neither serves.
pub fn answer(parts: &Parts) -> Option<Response<Body>> {
    docs::answer(parts).or_else(|| console::answer(parts))
}
