//! Newtypes for the user's fields. Each `parse` takes the request key it came from, so the
//! error names it (`options.email`, not just `email`).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ApiError;

pub const MAX_USER_ID: usize = 60;
pub const MAX_ID: usize = 255;
pub const MAX_NAME: usize = 128;
pub const MAX_EMAIL: usize = 255;
pub const MAX_LANGUAGE: usize = 7;
pub const MAX_TAG_KEYS: usize = 50;
pub const MAX_TAGS_BYTES: usize = 16 * 1024;
/// The email format of SPEC section 2.
pub const EMAIL_PATTERN: &str = r"^[^@]+@[^@]+\.[^@]+$";

/// Checks an identifier: not empty, within `max` characters, no surrounding white space and no
/// control characters (they make ids that look alike but are not).
fn check_identifier(key: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.is_empty() {
        return Err(ApiError::required(key));
    }
    if text.chars().count() > max {
        return Err(ApiError::invalid(key, format!("longer than {max} characters")));
    }
    if text.trim() != text {
        return Err(ApiError::invalid(key, "leading or trailing white space"));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::invalid(key, "control characters are not allowed"));
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$meta:meta])* $name:ident, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(key: &str, text: String) -> Result<Self, ApiError> {
                check_identifier(key, &text, $max)?;
                Ok(Self(text))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// A user's id: unique within its domain, 1–60 characters.
    UserId,
    MAX_USER_ID
);
identifier!(
    /// A domain's id, as in the token's `did` claim.
    DomainId,
    MAX_ID
);
identifier!(
    /// A workspace a user is bound to.
    WorkspaceId,
    MAX_ID
);

/// A well-formed email address (trimmed, at most 255 characters, `[^@]+@[^@]+\.[^@]+`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

static EMAIL_FORMAT: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern: it compiles or every email test fails, so this cannot fail at run time.
    Regex::new(EMAIL_PATTERN).expect("constant email pattern compiles")
});

/// One plain address (SPEC section 2): no white space or control character, and none of the
/// characters with which a mail provider reads a display name, a list, a route or a quoted
/// part (`Name <a@b.c>`, `a,b@c.d`), so SES sends to exactly the address the console shows.
fn is_one_plain_address(text: &str) -> bool {
    const SPECIALS: &[char] = &['<', '>', ',', ';', ':', '"', '(', ')', '[', ']', '\\'];
    !text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || SPECIALS.contains(&c))
}

impl Email {
    /// Parses a non-empty address. An empty (after trimming) value is the caller's business:
    /// see [`Email::parse_optional`].
    pub fn parse(key: &str, text: &str) -> Result<Self, ApiError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ApiError::required(key));
        }
        if text.chars().count() > MAX_EMAIL {
            return Err(ApiError::invalid(key, format!("longer than {MAX_EMAIL} characters")));
        }
        if !EMAIL_FORMAT.is_match(text) || !is_one_plain_address(text) {
            return Err(ApiError::IncorrectEmailFormat { key: key.to_string() });
        }
        Ok(Self(text.to_string()))
    }

    /// `""` (or only white space) means "no email"; anything else must be well-formed.
    pub fn parse_optional(key: &str, text: &str) -> Result<Option<Self>, ApiError> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            Self::parse(key, text).map(Some)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A display name: trimmed, at most 128 characters, may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(key: &str, text: &str) -> Result<Self, ApiError> {
        let text = text.trim();
        if text.chars().count() > MAX_NAME {
            return Err(ApiError::invalid(key, format!("longer than {MAX_NAME} characters")));
        }
        if text.chars().any(char::is_control) {
            return Err(ApiError::invalid(key, "control characters are not allowed"));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A language tag such as `en`, `ko`, `ja`, `pt-BR`: 1–7 letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Language(String);

impl Default for Language {
    fn default() -> Self {
        Self("en".into())
    }
}

impl Language {
    pub fn parse(key: &str, text: &str) -> Result<Self, ApiError> {
        let valid = !text.is_empty()
            && text.chars().count() <= MAX_LANGUAGE
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(ApiError::invalid(key, "must be 1 to 7 letters, digits, '-' or '_'"));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An IANA time zone name, stored in its canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timezone(String);

impl Default for Timezone {
    fn default() -> Self {
        Self("UTC".into())
    }
}

impl Timezone {
    pub fn parse(key: &str, text: &str) -> Result<Self, ApiError> {
        let zone: chrono_tz::Tz = text
            .parse()
            .map_err(|_| ApiError::invalid(key, "not an IANA time zone name such as UTC or Asia/Seoul"))?;
        Ok(Self(zone.name().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Free-form tags: a JSON object of at most 50 keys and 16 KiB serialized. Binary formats
/// (which cannot hold free-form JSON) carry them as JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Map<String, Value>);

impl Serialize for Tags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return self.0.serialize(s);
        }
        let text = serde_json::to_string(&self.0).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return Map::deserialize(d).map(Self);
        }
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        serde_json::from_str(&text).map(Self).map_err(serde::de::Error::custom)
    }
}

impl Tags {
    pub fn parse(key: &str, map: Map<String, Value>) -> Result<Self, ApiError> {
        if map.len() > MAX_TAG_KEYS {
            return Err(ApiError::invalid(key, format!("more than {MAX_TAG_KEYS} keys")));
        }
        let size = serde_json::to_vec(&map).map(|b| b.len()).unwrap_or(usize::MAX);
        if size > MAX_TAGS_BYTES {
            return Err(ApiError::invalid(
                key,
                format!("larger than {MAX_TAGS_BYTES} bytes serialized"),
            ));
        }
        Ok(Self(map))
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<impl std::fmt::Debug, ApiError>) -> &'static str {
        r.map(|_| "OK").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn user_id_bounds_and_characters() {
        assert_eq!(code(UserId::parse("user_id", "a".repeat(60))), "OK");
        assert_eq!(
            code(UserId::parse("user_id", "a".repeat(61))),
            "ERROR_INVALID_PARAMETER"
        );
        assert_eq!(
            code(UserId::parse("user_id", String::new())),
            "ERROR_REQUIRED_PARAMETER"
        );
        assert_eq!(
            code(UserId::parse("user_id", " alice".into())),
            "ERROR_INVALID_PARAMETER"
        );
        assert_eq!(
            code(UserId::parse("user_id", "alice\t".into())),
            "ERROR_INVALID_PARAMETER"
        );
        assert_eq!(
            code(UserId::parse("user_id", "al\u{7}ice".into())),
            "ERROR_INVALID_PARAMETER"
        );
        assert_eq!(code(UserId::parse("user_id", "앨리스@example.com".into())), "OK");
    }

    #[test]
    fn email_is_trimmed_and_checked() {
        assert_eq!(Email::parse("email", "  a@b.co ").unwrap().as_str(), "a@b.co");
        for bad in [
            "a@b",
            "@b.co",
            "a@@b.co",
            "a@b.",
            "ab.co",
            "Victim <attacker@evil.com>",
            "x,y@z.com",
            "a b@c.de",
            "a;b@c.de",
            "\"a\"@c.de",
            "a(c)@b.de",
            "a@[1.2.3.4].de",
            "a\\b@c.de",
            "a:b@c.de",
            "a\u{a0}b@c.de",
        ] {
            assert_eq!(
                code(Email::parse("email", bad)),
                "ERROR_INCORRECT_EMAIL_FORMAT",
                "{bad}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(code(Email::parse("email", &long)), "ERROR_INVALID_PARAMETER");
        assert_eq!(Email::parse_optional("email", "  ").unwrap(), None);
        let err = Email::parse("options.email", "nope").unwrap_err();
        assert!(err.to_string().contains("options.email"));
    }

    #[test]
    fn name_language_timezone() {
        assert_eq!(Name::parse("name", "  Alice ").unwrap().as_str(), "Alice");
        assert_eq!(code(Name::parse("name", &"n".repeat(129))), "ERROR_INVALID_PARAMETER");
        assert_eq!(code(Language::parse("language", "pt-BR")), "OK");
        assert_eq!(
            code(Language::parse("language", "toolonglang")),
            "ERROR_INVALID_PARAMETER"
        );
        assert_eq!(code(Language::parse("language", "")), "ERROR_INVALID_PARAMETER");
        assert_eq!(
            Timezone::parse("timezone", "Asia/Seoul").unwrap().as_str(),
            "Asia/Seoul"
        );
        assert_eq!(
            code(Timezone::parse("timezone", "Mars/Olympus")),
            "ERROR_INVALID_PARAMETER"
        );
    }

    #[test]
    fn tags_limits() {
        let mut many = Map::new();
        for i in 0..51 {
            many.insert(format!("k{i}"), Value::from(i));
        }
        assert_eq!(code(Tags::parse("tags", many)), "ERROR_INVALID_PARAMETER");
        let mut big = Map::new();
        big.insert("k".into(), Value::from("x".repeat(17 * 1024)));
        assert_eq!(code(Tags::parse("tags", big)), "ERROR_INVALID_PARAMETER");
    }
}
