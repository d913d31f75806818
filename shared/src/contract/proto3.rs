//! The proto3 JSON mapping of requests, in one place (SPEC section 3): the official generated
//! clients name fields in lowerCamelCase (`userId`, `filterOr`, `dateFormat`) unless told
//! otherwise, write enums as names or numbers (`"auth_type": 1`) and 32-bit integers as
//! numbers or strings (`"limit": "20"`). [`normalize`] rewrites a request body into the proto
//! names, enum names and JSON numbers, guided by the request messages below, before any
//! operation reads it; operations never see the difference.
//!
//! - A field may be given by its proto name or its JSON name, at every level of the message
//!   (queries and stat stages included); both for one field is ERROR_INVALID_PARAMETER.
//! - User data is never touched: the keys inside `tags`, MFA `options` and a condition's
//!   `value` are kept exactly as given (they are `google.protobuf.Struct`/`Value`).
//! - A key that is no field of its message is left as spelled, so the operation's "unknown
//!   field" error names it as the client wrote it.
//! - An enum number that the proto marks as "not set" (0 of `AuthType`, `PermissionGroup`,
//!   `State`) is "not given", as an absent field is in proto3.
//!
//! The messages and enum numbers are those of the API revision our seed documents: the
//! `spaceone-api` 2.0.25 package, `spaceone/api/identity/v2/user.proto` and
//! `spaceone/api/core/v1/query.proto` (read from the package's generated descriptors).

use serde_json::{Map, Value};

use crate::auth::issuer::MAX_ACCESS_TTL;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::{MAX_EMAIL, MAX_ID, MAX_LANGUAGE, MAX_NAME, MAX_TAG_KEYS, MAX_USER_ID};
use crate::secrets::{MAX_PASSWORD, MIN_PASSWORD};

/// How a field's value is read.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string: kept as given (the operation checks its type).
    Str,
    /// A bool: kept as given.
    Bool,
    /// A repeated string: kept as given.
    Strs,
    /// An int32 or uint32: a JSON number, or a string holding one.
    Int,
    /// An enum: its name, or its number in the table.
    Enum(&'static EnumTable),
    /// A repeated enum.
    Enums(&'static EnumTable),
    /// A nested message.
    Message(&'static Message),
    /// A repeated nested message.
    Messages(&'static Message),
    /// `google.protobuf.Struct`: user data (an object), kept exactly as given.
    Struct,
    /// `google.protobuf.Value`: any JSON value, kept exactly as given.
    Value,
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// What the operations accept in it, as the API document states it.
    pub rule: Rule,
}

/// The constraints the operations enforce on a field's value, as far as a JSON schema can say
/// them: a value the rule allows passes the field's validation (the document is never looser
/// than the server). What a schema cannot say (a verify code must be the one mailed, a role
/// must suit its permission group) is the operation's business rule, listed in its errors.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// Regular expressions (ECMA-262, unanchored unless they say `^…$`) the value must match,
    /// each of them.
    pub patterns: &'static [&'static str],
    /// The only values accepted.
    pub one_of: &'static [&'static str],
    /// The component schema the value is (a long list kept once, such as the time zones).
    pub schema: Option<&'static str>,
    pub max_properties: Option<usize>,
    pub min_items: Option<usize>,
    /// An integer's range.
    pub range: Option<(i64, i64)>,
    /// The keys a `google.protobuf.Struct` must hold, and whether it may hold others.
    pub shape: Option<(&'static Message, bool)>,
    /// The shape's keys may be left out (its message's conditions say when one is needed).
    pub shape_keys_optional: bool,
    pub note: Option<&'static str>,
}

impl Rule {
    pub const NONE: Rule = Rule {
        min_length: None,
        max_length: None,
        patterns: &[],
        one_of: &[],
        schema: None,
        max_properties: None,
        min_items: None,
        range: None,
        shape: None,
        shape_keys_optional: false,
        note: None,
    };
}

#[derive(Debug)]
pub struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
    /// Rules between its fields, which the operations enforce and the document states.
    pub conditions: &'static [Condition],
    /// Exactly one of its fields is given (a stat stage is one of the kinds).
    pub exactly_one: bool,
}

/// When every `when` holds, every `then` must: say, a WORKSPACE scope needs a workspace_id.
#[derive(Debug, Clone, Copy)]
pub struct Condition {
    pub when: &'static [(&'static str, Is)],
    pub then: &'static [(&'static str, Is)],
}

/// What a field is, in a [`Condition`].
#[derive(Debug, Clone, Copy)]
pub enum Is {
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// `true`.
    True,
    /// Absent, `null` or `false`.
    NotTrue,
    /// Given, and not empty (a list: not empty either).
    Given,
    /// Absent, `null` or `""`: not given, as proto3 reads a default.
    NotGiven,
    /// There, whatever its value (two spellings of one field may not both be).
    Present,
    /// Not there at all.
    Absent,
    /// An object of exactly these keys; with none, absent or `{}`.
    Keys(&'static [&'static str]),
}

/// An enum's names by number; `None` is the proto's "not set" value.
#[derive(Debug)]
pub struct EnumTable {
    pub name: &'static str,
    pub values: &'static [(i64, Option<&'static str>)],
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        rule: Rule::NONE,
    }
}

const fn ruled(name: &'static str, kind: Kind, rule: Rule) -> Field {
    Field { name, kind, rule }
}

/// An identifier (SPEC section 2): no white space at either end, no control character.
const IDENTIFIER: &str = r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";
/// The same, or `""` (the proto3 default: not given).
const OPTIONAL_IDENTIFIER: &str = r"^(?:[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?)?$";
/// One plain address (SPEC section 2), or `""` (no email).
const OPTIONAL_EMAIL: &str = r#"^(?:[^@\s\x00-\x1f\x7f-\x9f<>,;:"()\[\]\\]+@[^@\s\x00-\x1f\x7f-\x9f<>,;:"()\[\]\\]+\.[^@\s\x00-\x1f\x7f-\x9f<>,;:"()\[\]\\]+)?$"#;
const NO_CONTROL: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

const USER_ID: Field = ruled(
    "user_id",
    STR,
    Rule {
        min_length: Some(1),
        max_length: Some(MAX_USER_ID),
        patterns: &[IDENTIFIER],
        ..Rule::NONE
    },
);
const DOMAIN_ID: Field = ruled(
    "domain_id",
    STR,
    Rule {
        min_length: Some(1),
        max_length: Some(MAX_ID),
        patterns: &[IDENTIFIER],
        ..Rule::NONE
    },
);
const OPTIONAL_DOMAIN_ID: Field = ruled(
    "domain_id",
    STR,
    Rule {
        max_length: Some(MAX_ID),
        patterns: &[OPTIONAL_IDENTIFIER],
        ..Rule::NONE
    },
);
const WORKSPACE_ID: Field = ruled(
    "workspace_id",
    STR,
    Rule {
        max_length: Some(MAX_ID),
        patterns: &[OPTIONAL_IDENTIFIER],
        ..Rule::NONE
    },
);
const NAME: Field = ruled(
    "name",
    STR,
    Rule {
        max_length: Some(MAX_NAME),
        patterns: &[NO_CONTROL],
        ..Rule::NONE
    },
);
const EMAIL_RULE: Rule = Rule {
    max_length: Some(MAX_EMAIL),
    patterns: &[OPTIONAL_EMAIL],
    ..Rule::NONE
};
const EMAIL: Field = ruled("email", STR, EMAIL_RULE);
const PASSWORD_RULE: Rule = Rule {
    min_length: Some(MIN_PASSWORD),
    max_length: Some(MAX_PASSWORD),
    patterns: &["[a-z]", "[A-Z]", "[0-9]"],
    note: Some("at least one lowercase letter, one uppercase letter and one digit"),
    ..Rule::NONE
};
const PASSWORD: Field = ruled("password", STR, PASSWORD_RULE);
const LANGUAGE: Field = ruled(
    "language",
    STR,
    Rule {
        max_length: Some(MAX_LANGUAGE),
        patterns: &["^[A-Za-z0-9_-]*$"],
        ..Rule::NONE
    },
);
const TIMEZONE: Field = ruled(
    "timezone",
    STR,
    Rule {
        schema: Some("Timezone"),
        ..Rule::NONE
    },
);
const TAGS: Field = ruled(
    "tags",
    Kind::Struct,
    Rule {
        max_properties: Some(MAX_TAG_KEYS),
        note: Some("at most 16 KiB as JSON"),
        ..Rule::NONE
    },
);
const VERIFY_CODE: Field = ruled(
    "verify_code",
    STR,
    Rule {
        patterns: &["^[0-9]{6}$"],
        ..Rule::NONE
    },
);
const TIMEOUT: Field = ruled(
    "timeout",
    Kind::Int,
    Rule {
        range: Some((0, MAX_ACCESS_TTL)),
        note: Some("seconds; 0 = the default"),
        ..Rule::NONE
    },
);

const STR: Kind = Kind::Str;
const BOOL: Kind = Kind::Bool;

// Enums (user.proto, query.proto of spaceone-api 2.0.25).
pub static AUTH_TYPE: EnumTable = EnumTable {
    name: "AuthType",
    values: &[(0, None), (1, Some("LOCAL")), (2, Some("EXTERNAL"))],
};
/// MFA an admin requires (SPEC section 10): `enforce_mfa_state` and `enforce_mfa_type` of
/// CreateUserRequest and UpdateUserRequest, numbered as the later identity v2 protos number them.
pub static MFA_STATE: EnumTable = EnumTable {
    name: "MFAState",
    values: &[(0, None), (1, Some("ENABLED")), (2, Some("DISABLED"))],
};
pub static MFA_TYPE: EnumTable = EnumTable {
    name: "MFAType",
    values: &[(0, None), (1, Some("OTP")), (2, Some("EMAIL"))],
};
/// IssueTokenRequest.AuthType: the user's, and MFA for the second call of an MFA sign-in
/// (later identity v2 protos; SPEC section 10).
pub static TOKEN_AUTH_TYPE: EnumTable = EnumTable {
    name: "IssueTokenRequest.AuthType",
    values: &[(0, None), (1, Some("LOCAL")), (2, Some("EXTERNAL")), (3, Some("MFA"))],
};
pub static USER_REQUIRED_ACTION: EnumTable = EnumTable {
    name: "UserRequiredAction",
    values: &[(0, Some("UPDATE_PASSWORD")), (1, Some("ENFORCE_MFA"))],
};
/// What set_required_actions takes: ENFORCE_MFA is set and cleared only by the rules of MFA an
/// admin requires (SPEC section 10), so the request's enum leaves it out.
pub static SETTABLE_REQUIRED_ACTION: EnumTable = EnumTable {
    name: "UserRequiredAction",
    values: &[(0, Some("UPDATE_PASSWORD"))],
};
pub static PERMISSION_GROUP: EnumTable = EnumTable {
    name: "CreateUserRequest.PermissionGroup",
    values: &[(0, None), (1, Some("DOMAIN")), (2, Some("WORKSPACE"))],
};
pub static USER_STATE: EnumTable = EnumTable {
    name: "UserSearchQuery.State",
    values: &[
        (0, None),
        (1, Some("ENABLED")),
        (2, Some("DISABLED")),
        (3, Some("PENDING")),
    ],
};

// core/v1/query.proto
/// A query key: dotted, no empty part.
const KEY_PATH: &str = r"^[^.]+(?:\.[^.]+)*$";
/// A filter's key: a UserInfo field (`query::keys::USER_FIELDS`), then any dotted path.
const FIELD_PATH: &str = r"^(?:user_id|name|state|email|email_verified|auth_type|role_type|mfa|language|timezone|required_actions|tags|domain_id|created_at|last_accessed_at)(?:\.[^.]+)*$";
const KEY_PATH_RULE: Rule = Rule {
    min_length: Some(1),
    patterns: &[KEY_PATH],
    ..Rule::NONE
};
const FIELD_PATH_RULE: Rule = Rule {
    min_length: Some(1),
    patterns: &[FIELD_PATH],
    ..Rule::NONE
};

/// A group field's operator: one of the accumulators.
const ACCUMULATOR_RULE: Rule = Rule {
    one_of: &crate::query::ACCUMULATORS,
    ..Rule::NONE
};

/// The conditions of fields spelled two ways (`key` or `k`): never both; with `required`, one
/// of them.
macro_rules! spellings {
    (@acc [$($acc:expr,)*]) => { &[$($acc,)*] };
    (@acc [$($acc:expr,)*] required($long:literal, $short:literal) $(, $($rest:tt)*)?) => {
        spellings!(@acc [$($acc,)*
            Condition { when: &[($long, Is::Present)], then: &[($short, Is::Absent)] },
            Condition { when: &[($long, Is::Absent)], then: &[($short, Is::Present)] },
        ] $($($rest)*)?)
    };
    (@acc [$($acc:expr,)*] either($long:literal, $short:literal) $(, $($rest:tt)*)?) => {
        spellings!(@acc [$($acc,)*
            Condition { when: &[($long, Is::Present)], then: &[($short, Is::Absent)] },
        ] $($($rest)*)?)
    };
    ($($rest:tt)*) => { spellings!(@acc [] $($rest)*) };
}

static FILTER: Message = Message {
    name: "Filter",
    exactly_one: false,
    conditions: spellings!(required("key", "k"), either("value", "v"), either("operator", "o")),
    fields: &[
        ruled("key", STR, FIELD_PATH_RULE),
        ruled("k", STR, FIELD_PATH_RULE),
        field("value", Kind::Value),
        field("v", Kind::Value),
        field("operator", STR),
        field("o", STR),
    ],
};
static SORT_KEY: Message = Message {
    name: "SortKey",
    exactly_one: false,
    conditions: &[],
    fields: &[field("key", STR), field("desc", BOOL)],
};
static SORT: Message = Message {
    name: "Sort",
    exactly_one: false,
    conditions: &[
        Condition {
            when: &[("keys", Is::Given)],
            then: &[("key", Is::Absent), ("desc", Is::Absent)],
        },
        Condition {
            when: &[("keys", Is::Absent)],
            then: &[("key", Is::Given)],
        },
    ],
    fields: &[
        field("key", STR),
        field("desc", BOOL),
        field("keys", Kind::Messages(&SORT_KEY)),
    ],
};
static PAGE: Message = Message {
    name: "Page",
    exactly_one: false,
    conditions: &[],
    fields: &[
        field("start", Kind::Int),
        ruled(
            "limit",
            Kind::Int,
            Rule {
                note: Some("0 = all, at most 1000 per response"),
                ..Rule::NONE
            },
        ),
    ],
};
pub static QUERY: Message = Message {
    name: "Query",
    exactly_one: false,
    conditions: &[],
    fields: &[
        field("filter", Kind::Messages(&FILTER)),
        field("filter_or", Kind::Messages(&FILTER)),
        field("sort", Kind::Message(&SORT)),
        field("page", Kind::Message(&PAGE)),
        field("minimal", BOOL),
        field("count_only", BOOL),
        field("only", Kind::Strs),
        field("keyword", STR),
    ],
};
static GROUP_KEY: Message = Message {
    name: "AggregateGroupKey",
    exactly_one: false,
    conditions: spellings!(required("key", "k"), either("name", "n")),
    fields: &[
        ruled("key", STR, KEY_PATH_RULE),
        ruled("k", STR, KEY_PATH_RULE),
        field("name", STR),
        field("n", STR),
        field("date_format", STR),
    ],
};
static GROUP_SUB_FIELD: Message = Message {
    name: "AggregateGroupSubField",
    exactly_one: false,
    conditions: spellings!(required("key", "k"), either("name", "n")),
    fields: &[
        ruled("key", STR, KEY_PATH_RULE),
        ruled("k", STR, KEY_PATH_RULE),
        field("name", STR),
        field("n", STR),
    ],
};
static GROUP_FIELD: Message = Message {
    name: "AggregateGroupField",
    exactly_one: false,
    conditions: spellings!(required("operator", "o"), required("name", "n"), either("key", "k")),
    fields: &[
        ruled("key", STR, KEY_PATH_RULE),
        ruled("k", STR, KEY_PATH_RULE),
        field("name", STR),
        field("n", STR),
        ruled("operator", STR, ACCUMULATOR_RULE),
        ruled("o", STR, ACCUMULATOR_RULE),
        field("fields", Kind::Messages(&GROUP_SUB_FIELD)),
        field("conditions", Kind::Messages(&FILTER)),
    ],
};
static GROUP: Message = Message {
    name: "AggregateGroup",
    exactly_one: false,
    conditions: &[],
    fields: &[
        field("keys", Kind::Messages(&GROUP_KEY)),
        field("fields", Kind::Messages(&GROUP_FIELD)),
    ],
};
static PROJECT_FIELD: Message = Message {
    name: "AggregateProjectField",
    exactly_one: false,
    conditions: spellings!(required("key", "k"), either("name", "n"), either("operator", "o")),
    fields: &[
        ruled("key", STR, KEY_PATH_RULE),
        ruled("k", STR, KEY_PATH_RULE),
        field("name", STR),
        field("n", STR),
        field("operator", STR),
        field("o", STR),
    ],
};
static PROJECT: Message = Message {
    name: "AggregateProject",
    exactly_one: false,
    conditions: &[],
    fields: &[
        field("fields", Kind::Messages(&PROJECT_FIELD)),
        field("exclude_keys", BOOL),
    ],
};
static AGGREGATE_UNWIND: Message = Message {
    name: "AggregateUnwind",
    exactly_one: false,
    conditions: &[],
    fields: &[field("path", STR)],
};
static AGGREGATE_COUNT: Message = Message {
    name: "AggregateCount",
    exactly_one: false,
    conditions: &[],
    fields: &[field("name", STR)],
};
static STAGE: Message = Message {
    name: "StatisticsAggregate",
    exactly_one: true,
    conditions: &[],
    fields: &[
        field("unwind", Kind::Message(&AGGREGATE_UNWIND)),
        field("group", Kind::Message(&GROUP)),
        field("count", Kind::Message(&AGGREGATE_COUNT)),
        field("sort", Kind::Message(&SORT)),
        field("project", Kind::Message(&PROJECT)),
        field("limit", Kind::Int),
        field("skip", Kind::Int),
    ],
};
pub static STATISTICS_QUERY: Message = Message {
    name: "StatisticsQuery",
    exactly_one: false,
    conditions: &[
        Condition {
            when: &[("distinct", Is::NotGiven)],
            then: &[("aggregate", Is::Given)],
        },
        Condition {
            when: &[("distinct", Is::Given)],
            then: &[("aggregate", Is::Absent)],
        },
    ],
    fields: &[
        field("filter", Kind::Messages(&FILTER)),
        field("filter_or", Kind::Messages(&FILTER)),
        field("aggregate", Kind::Messages(&STAGE)),
        field("page", Kind::Message(&PAGE)),
        field("distinct", STR),
        field("keyword", STR),
    ],
};

/// `options` of enable_mfa: the address the codes go to (SPEC 4.7).
static MFA_OPTIONS: Message = Message {
    name: "MFAOptions",
    exactly_one: false,
    conditions: &[],
    fields: &[ruled(
        "email",
        STR,
        Rule {
            min_length: Some(1),
            ..EMAIL_RULE
        },
    )],
};
/// `credentials` of token/issue: exactly a user_id and a password.
static CREDENTIALS: Message = Message {
    name: "Credentials",
    exactly_one: false,
    conditions: &[],
    fields: &[
        USER_ID,
        ruled(
            "password",
            STR,
            Rule {
                min_length: Some(1),
                ..Rule::NONE
            },
        ),
    ],
};

// identity/v2/user.proto
/// MFA an admin requires (SPEC section 10), on create and update: ENABLED names a type; a type
/// needs ENABLED.
const ENFORCE_MFA: [Condition; 3] = [
    Condition {
        when: &[("enforce_mfa_state", Is::OneOf(&["ENABLED"]))],
        then: &[("enforce_mfa_type", Is::Given)],
    },
    Condition {
        when: &[("enforce_mfa_state", Is::OneOf(&["DISABLED"]))],
        then: &[("enforce_mfa_type", Is::NotGiven)],
    },
    Condition {
        when: &[("enforce_mfa_state", Is::NotGiven)],
        then: &[("enforce_mfa_type", Is::NotGiven)],
    },
];
pub static CREATE_USER_REQUEST: Message = Message {
    name: "CreateUserRequest",
    exactly_one: false,
    conditions: &[
        // EXTERNAL users have no password here (SPEC 4.1).
        Condition {
            when: &[("auth_type", Is::OneOf(&["EXTERNAL"]))],
            then: &[("password", Is::Absent), ("reset_password", Is::NotTrue)],
        },
        Condition {
            when: &[("auth_type", Is::OneOf(&["LOCAL"])), ("reset_password", Is::NotTrue)],
            then: &[("password", Is::Given)],
        },
        // The temporary password is mailed.
        Condition {
            when: &[("reset_password", Is::True)],
            then: &[("email", Is::Given)],
        },
        Condition {
            when: &[("role_id", Is::OneOf(&["managed-domain-admin"]))],
            then: &[("permission_group", Is::OneOf(&["DOMAIN"]))],
        },
        Condition {
            when: &[(
                "role_id",
                Is::OneOf(&["managed-workspace-owner", "managed-workspace-member"]),
            )],
            then: &[
                ("permission_group", Is::OneOf(&["WORKSPACE"])),
                ("workspace_id", Is::Given),
            ],
        },
        ENFORCE_MFA[0],
        ENFORCE_MFA[1],
        ENFORCE_MFA[2],
        // EXTERNAL users have no MFA here to require.
        Condition {
            when: &[("auth_type", Is::OneOf(&["EXTERNAL"]))],
            then: &[("enforce_mfa_type", Is::NotGiven)],
        },
    ],
    fields: &[
        USER_ID,
        PASSWORD,
        NAME,
        EMAIL,
        field("auth_type", Kind::Enum(&AUTH_TYPE)),
        LANGUAGE,
        TIMEZONE,
        TAGS,
        field("reset_password", BOOL),
        ruled(
            "role_id",
            STR,
            Rule {
                one_of: &[
                    "",
                    "managed-domain-admin",
                    "managed-workspace-owner",
                    "managed-workspace-member",
                ],
                ..Rule::NONE
            },
        ),
        field("permission_group", Kind::Enum(&PERMISSION_GROUP)),
        field("enforce_mfa_state", Kind::Enum(&MFA_STATE)),
        field("enforce_mfa_type", Kind::Enum(&MFA_TYPE)),
        DOMAIN_ID,
        WORKSPACE_ID,
    ],
};
pub static UPDATE_USER_REQUEST: Message = Message {
    name: "UpdateUserRequest",
    // The temporary password goes to the verified address, so it cannot change with it.
    exactly_one: false,
    conditions: &[
        Condition {
            when: &[("reset_password", Is::True)],
            then: &[("email", Is::Absent)],
        },
        ENFORCE_MFA[0],
        ENFORCE_MFA[1],
        ENFORCE_MFA[2],
    ],
    fields: &[
        USER_ID,
        PASSWORD,
        NAME,
        EMAIL,
        LANGUAGE,
        TIMEZONE,
        TAGS,
        field("reset_password", BOOL),
        field("enforce_mfa_state", Kind::Enum(&MFA_STATE)),
        field("enforce_mfa_type", Kind::Enum(&MFA_TYPE)),
        DOMAIN_ID,
    ],
};
pub static VERIFY_EMAIL_REQUEST: Message = Message {
    name: "VerifyEmailRequest",
    exactly_one: false,
    conditions: &[],
    fields: &[USER_ID, EMAIL, field("force", BOOL), DOMAIN_ID],
};
pub static CONFIRM_EMAIL_REQUEST: Message = Message {
    name: "ConfirmEmailRequest",
    exactly_one: false,
    conditions: &[],
    fields: &[USER_ID, VERIFY_CODE, DOMAIN_ID],
};
pub static SET_REQUIRED_ACTIONS_REQUEST: Message = Message {
    name: "SetRequiredActionsRequest",
    exactly_one: false,
    conditions: &[],
    fields: &[
        USER_ID,
        ruled(
            "actions",
            Kind::Enums(&SETTABLE_REQUIRED_ACTION),
            Rule {
                min_items: Some(1),
                ..Rule::NONE
            },
        ),
        DOMAIN_ID,
    ],
};
pub static ENABLE_MFA_REQUEST: Message = Message {
    name: "EnableMFARequest",
    exactly_one: false,
    // EMAIL takes `{"email"}`; OTP no options (absent or `{}`, SPEC section 10).
    conditions: &[
        Condition {
            when: &[("mfa_type", Is::OneOf(&["EMAIL"]))],
            then: &[("options", Is::Keys(&["email"]))],
        },
        Condition {
            when: &[("mfa_type", Is::OneOf(&["OTP"]))],
            then: &[("options", Is::Keys(&[]))],
        },
    ],
    fields: &[
        USER_ID,
        ruled(
            "mfa_type",
            STR,
            Rule {
                one_of: &["EMAIL", "OTP"],
                ..Rule::NONE
            },
        ),
        ruled(
            "options",
            Kind::Struct,
            Rule {
                shape: Some((&MFA_OPTIONS, true)),
                shape_keys_optional: true,
                ..Rule::NONE
            },
        ),
        DOMAIN_ID,
    ],
};
pub static DISABLE_MFA_REQUEST: Message = Message {
    name: "DisableMFARequest",
    exactly_one: false,
    conditions: &[],
    fields: &[USER_ID, field("force", BOOL), DOMAIN_ID],
};
pub static CONFIRM_MFA_REQUEST: Message = Message {
    name: "ConfirmMFARequest",
    exactly_one: false,
    conditions: &[],
    fields: &[USER_ID, VERIFY_CODE, DOMAIN_ID],
};
pub static USER_REQUEST: Message = Message {
    name: "UserRequest",
    exactly_one: false,
    conditions: &[],
    fields: &[USER_ID, DOMAIN_ID],
};
pub static USER_SEARCH_QUERY: Message = Message {
    name: "UserSearchQuery",
    exactly_one: false,
    conditions: &[],
    fields: &[
        field("query", Kind::Message(&QUERY)),
        field("user_id", STR),
        field("name", STR),
        field("state", Kind::Enum(&USER_STATE)),
        field("email", STR),
        field("auth_type", Kind::Enum(&AUTH_TYPE)),
        DOMAIN_ID,
        field("workspace_id", STR),
    ],
};
pub static USER_STAT_QUERY: Message = Message {
    name: "UserStatQuery",
    exactly_one: false,
    conditions: &[],
    fields: &[field("query", Kind::Message(&STATISTICS_QUERY)), DOMAIN_ID],
};

// The Token API. IssueTokenRequest is identity/v2/token.proto of spaceone-api 2.0.25;
// `refresh_count` is read and ignored. That revision has no grant: GrantTokenRequest follows
// the later identity v2 Token service (names are what clients send; the enum numbers are ours).
pub static GRANT_TYPE: EnumTable = EnumTable {
    name: "GrantType",
    values: &[(0, None), (1, Some("REFRESH_TOKEN"))],
};
pub static SCOPE: EnumTable = EnumTable {
    name: "Scope",
    values: &[
        (0, None),
        (1, Some("SYSTEM")),
        (2, Some("DOMAIN")),
        (3, Some("WORKSPACE")),
        (4, Some("USER")),
    ],
};
pub static ISSUE_TOKEN_REQUEST: Message = Message {
    name: "IssueTokenRequest",
    exactly_one: false,
    conditions: &[Condition {
        when: &[("auth_type", Is::OneOf(&["MFA"]))],
        then: &[("verify_code", Is::Given)],
    }],
    fields: &[
        ruled(
            "credentials",
            Kind::Struct,
            Rule {
                shape: Some((&CREDENTIALS, true)),
                ..Rule::NONE
            },
        ),
        ruled(
            "auth_type",
            Kind::Enum(&TOKEN_AUTH_TYPE),
            Rule {
                one_of: &["LOCAL", "MFA"],
                note: Some("MFA: the second call, with verify_code; EXTERNAL users sign in at their identity provider"),
                ..Rule::NONE
            },
        ),
        TIMEOUT,
        field("refresh_count", Kind::Int),
        VERIFY_CODE,
        DOMAIN_ID,
    ],
};
pub static GRANT_TOKEN_REQUEST: Message = Message {
    name: "GrantTokenRequest",
    exactly_one: false,
    conditions: &[Condition {
        when: &[("scope", Is::OneOf(&["WORKSPACE"]))],
        then: &[("workspace_id", Is::Given)],
    }],
    fields: &[
        field("grant_type", Kind::Enum(&GRANT_TYPE)),
        ruled(
            "token",
            STR,
            Rule {
                min_length: Some(1),
                ..Rule::NONE
            },
        ),
        ruled(
            "scope",
            Kind::Enum(&SCOPE),
            Rule {
                one_of: &["DOMAIN", "WORKSPACE", "USER"],
                ..Rule::NONE
            },
        ),
        TIMEOUT,
        OPTIONAL_DOMAIN_ID,
        WORKSPACE_ID,
    ],
};
pub static DOMAIN_REQUEST: Message = Message {
    name: "DomainRequest",
    exactly_one: false,
    conditions: &[],
    fields: &[DOMAIN_ID],
};
pub static EMPTY: Message = Message {
    name: "Empty",
    exactly_one: false,
    conditions: &[],
    fields: &[],
};

/// The lowerCamelCase JSON name of a proto field name (`filter_or` → `filterOr`).
pub fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `key` is the JSON name of the proto field `name` ([`json_name`]), compared without
/// building it: this runs for every key of every request.
fn is_json_name(name: &str, key: &str) -> bool {
    let mut key = key.chars();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
            continue;
        }
        let expected = if upper { c.to_ascii_uppercase() } else { c };
        upper = false;
        if key.next() != Some(expected) {
            return false;
        }
    }
    key.next().is_none()
}

/// A request body read as `message`: in proto names, enum names and JSON numbers, what every
/// API request goes through before its operation reads it.
pub fn read(fields: Fields, message: &Message) -> Result<Fields, ApiError> {
    normalize(fields.into_map(), message).map(Fields::from_map)
}

/// Rewrites a request body of `message` into proto names, enum names and JSON numbers.
pub fn normalize(body: Map<String, Value>, message: &Message) -> Result<Map<String, Value>, ApiError> {
    normalize_object(body, message, "")
}

fn normalize_object(map: Map<String, Value>, message: &Message, at: &str) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::with_capacity(map.len());
    // Which spelling each proto name was given in, to name both when both are given.
    let mut spelled: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in map {
        let Some(field) = message
            .fields
            .iter()
            .find(|f| f.name == key || is_json_name(f.name, &key))
        else {
            // Not a field of this message: left as spelled, for the operation to refuse.
            out.insert(key, value);
            continue;
        };
        if let Some((_, first)) = spelled.iter().find(|(name, _)| *name == field.name) {
            let name = format!("{at}{}", field.name);
            return Err(ApiError::invalid(
                name,
                format!("given twice, as {at}{first} and as {at}{key}"),
            ));
        }
        let path = format!("{at}{key}");
        let value = normalize_value(value, field.kind, &path)?;
        spelled.push((field.name, key));
        out.insert(field.name.to_string(), value);
    }
    Ok(out)
}

fn normalize_value(value: Value, kind: Kind, path: &str) -> Result<Value, ApiError> {
    match (kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (Kind::Str | Kind::Bool | Kind::Strs | Kind::Struct | Kind::Value, value) => Ok(value),
        (Kind::Int, value) => int(value, path),
        (Kind::Enum(table), value) => enum_name(value, table, path),
        (Kind::Enums(table), Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| enum_name(item, table, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Kind::Message(message), Value::Object(map)) => {
            normalize_object(map, message, &format!("{path}.")).map(Value::Object)
        }
        (Kind::Messages(message), Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(map) => normalize_object(map, message, &format!("{path}[{i}].")).map(Value::Object),
                other => Ok(other),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        // A value of the wrong shape is left for the operation to refuse, naming the key.
        (_, other) => Ok(other),
    }
}

/// An int32/uint32: a JSON number as given, or a string holding a whole number.
fn int(value: Value, path: &str) -> Result<Value, ApiError> {
    match value {
        Value::String(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| i32::try_from(*n).is_ok() || u32::try_from(*n).is_ok())
            .map(Value::from)
            .ok_or_else(|| ApiError::invalid(path, "must be a 32-bit integer (a number, or a string holding one)")),
        // An integral number written with a fraction or exponent (`20.0`, `2e1`) is that integer,
        // as proto3 JSON parsers read it and as JSON Schema counts it.
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= f64::from(u32::MAX) => Ok(Value::from(f as i64)),
            _ => Ok(Value::Number(n)),
        },
        other => Ok(other),
    }
}

/// An enum's name as given, or its number turned into its name.
fn enum_name(value: Value, table: &EnumTable, path: &str) -> Result<Value, ApiError> {
    let Some(number) = value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
            .map(|f| f as i64)
    }) else {
        return Ok(value);
    };
    match table.values.iter().find(|(n, _)| *n == number) {
        Some((_, Some(name))) => Ok(Value::String((*name).to_string())),
        Some((_, None)) => Ok(Value::Null),
        None => {
            let known: Vec<String> = table
                .values
                .iter()
                .filter_map(|(n, name)| name.map(|name| format!("{n} ({name})")))
                .collect();
            Err(ApiError::invalid(
                path,
                format!(
                    "{number} is not a {} number: use one of {}",
                    table.name,
                    known.join(", ")
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::Operation;

    /// The rules that restate a list kept elsewhere agree with it.
    #[test]
    fn rules_agree_with_the_lists_they_restate() {
        let fields = regex::Regex::new(FIELD_PATH).unwrap();
        for field in crate::query::USER_FIELDS {
            assert!(
                fields.is_match(field) && fields.is_match(&format!("{field}.x.y")),
                "{field}"
            );
        }
        assert_eq!(FIELD_PATH.matches('|').count() + 1, crate::query::USER_FIELDS.len());
        assert!(!fields.is_match("nope") && !fields.is_match("tags..x") && !fields.is_match(""));
        let limit = PAGE.fields.iter().find(|f| f.name == "limit").and_then(|f| f.rule.note);
        assert!(limit.is_some_and(|note| note.contains(&crate::query::MAX_PAGE.to_string())));
        let mfa = ENABLE_MFA_REQUEST
            .fields
            .iter()
            .find(|f| f.name == "mfa_type")
            .map(|f| f.rule.one_of);
        let types: Vec<&str> = crate::model::MfaType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(mfa, Some(types.as_slice()));
        let scopes = GRANT_TOKEN_REQUEST
            .fields
            .iter()
            .find(|f| f.name == "scope")
            .map(|f| f.rule.one_of);
        for scope in scopes.unwrap_or_default() {
            assert!(SCOPE.values.iter().any(|(_, name)| *name == Some(*scope)), "{scope}");
        }
    }

    fn normalized(op: Operation, body: Value) -> Result<Value, ApiError> {
        let Value::Object(map) = body else { panic!("an object") };
        normalize(map, op.describe().request).map(Value::Object)
    }

    #[test]
    fn json_names_are_lower_camel_case() {
        assert_eq!(json_name("user_id"), "userId");
        assert_eq!(json_name("filter_or"), "filterOr");
        assert_eq!(json_name("count_only"), "countOnly");
        assert_eq!(json_name("k"), "k");
        for name in ["user_id", "filter_or", "count_only", "k", "date_format"] {
            assert!(is_json_name(name, &json_name(name)), "{name}");
        }
        assert!(!is_json_name("user_id", "userID"));
        assert!(!is_json_name("user_id", "user"));
        assert!(!is_json_name("user_id", "userIdx"));
    }

    #[test]
    fn camel_case_names_become_proto_names_at_every_level() {
        let body = json!({"domainId": "d", "query": {
            "filterOr": [{"k": "name", "v": "x"}], "countOnly": true,
            "sort": {"keys": [{"key": "name", "desc": true}]}, "page": {"start": "2", "limit": "20"},
        }});
        assert_eq!(
            normalized(Operation::List, body).unwrap(),
            json!({"domain_id": "d", "query": {
                "filter_or": [{"k": "name", "v": "x"}], "count_only": true,
                "sort": {"keys": [{"key": "name", "desc": true}]}, "page": {"start": 2, "limit": 20},
            }})
        );
        let stat = json!({"domainId": "d", "query": {"aggregate": [
            {"group": {"keys": [{"key": "created_at", "name": "day", "dateFormat": "%Y-%m-%d"}],
                       "fields": [{"name": "n", "operator": "count", "conditions": [{"key": "state", "value": "ENABLED"}]}]}},
            {"project": {"fields": [{"key": "n", "name": "n"}], "excludeKeys": true}},
            {"limit": "5"}, {"skip": 1},
        ]}});
        let out = normalized(Operation::Stat, stat).unwrap();
        assert_eq!(
            out["query"]["aggregate"][0]["group"]["keys"][0]["date_format"],
            "%Y-%m-%d"
        );
        assert_eq!(out["query"]["aggregate"][1]["project"]["exclude_keys"], true);
        assert_eq!(out["query"]["aggregate"][2]["limit"], 5);
    }

    #[test]
    fn user_data_keeps_its_keys() {
        let body = json!({"userId": "a", "domainId": "d", "tags": {"cost_center": 1, "costCenter": 2}});
        let out = normalized(Operation::Update, body).unwrap();
        assert_eq!(out["tags"], json!({"cost_center": 1, "costCenter": 2}));
        let mfa =
            json!({"userId": "a", "domainId": "d", "mfaType": "EMAIL", "options": {"email": "a@b.co", "someKey": 1}});
        let out = normalized(Operation::EnableMfa, mfa).unwrap();
        assert_eq!(out["options"], json!({"email": "a@b.co", "someKey": 1}));
        let value =
            json!({"domainId": "d", "query": {"filter": [{"k": "tags", "v": {"user_id": 1, "userId": 2}, "o": "eq"}]}});
        let out = normalized(Operation::List, value).unwrap();
        assert_eq!(out["query"]["filter"][0]["v"], json!({"user_id": 1, "userId": 2}));
    }

    #[test]
    fn enums_by_number_and_the_unset_number_is_not_given() {
        let body = json!({"userId": "a", "domainId": "d", "authType": 1, "permissionGroup": 2});
        let out = normalized(Operation::Create, body).unwrap();
        assert_eq!(
            (&out["auth_type"], &out["permission_group"]),
            (&json!("LOCAL"), &json!("WORKSPACE"))
        );
        let out = normalized(Operation::Create, json!({"auth_type": 0})).unwrap();
        assert_eq!(out["auth_type"], Value::Null);
        let out = normalized(
            Operation::SetRequiredActions,
            json!({"actions": [0, "UPDATE_PASSWORD"]}),
        )
        .unwrap();
        assert_eq!(out["actions"], json!(["UPDATE_PASSWORD", "UPDATE_PASSWORD"]));
        let out = normalized(Operation::List, json!({"state": 2, "authType": "EXTERNAL"})).unwrap();
        assert_eq!(
            (&out["state"], &out["auth_type"]),
            (&json!("DISABLED"), &json!("EXTERNAL"))
        );
        let err = normalized(Operation::Create, json!({"authType": 7})).unwrap_err();
        assert_eq!(err.code(), "ERROR_INVALID_PARAMETER");
        assert!(
            err.to_string().contains("authType") && err.to_string().contains("1 (LOCAL)"),
            "{err}"
        );
    }

    #[test]
    fn both_spellings_of_one_field_are_refused_naming_both() {
        let err = normalized(Operation::Get, json!({"user_id": "a", "userId": "b"})).unwrap_err();
        assert_eq!(err.code(), "ERROR_INVALID_PARAMETER");
        let text = err.to_string();
        assert!(text.contains("user_id") && text.contains("userId"), "{text}");
        let err = normalized(
            Operation::List,
            json!({"query": {"countOnly": true, "count_only": false}}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("query.count_only"), "{err}");
    }

    #[test]
    fn bad_integers_and_unknown_keys() {
        let err = normalized(Operation::List, json!({"query": {"page": {"limit": "twenty"}}})).unwrap_err();
        assert!(err.to_string().contains("query.page.limit"), "{err}");
        assert!(normalized(Operation::List, json!({"query": {"page": {"limit": "99999999999"}}})).is_err());
        // Unknown keys are left as spelled for the operation's own error.
        let out = normalized(Operation::Get, json!({"userID": "a"})).unwrap();
        assert_eq!(out, json!({"userID": "a"}));
    }
}
