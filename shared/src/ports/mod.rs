//! The ports and what plugs into them: [`store`] (the storage trait; redb and DynamoDB),
//! [`mail`] (the mail trait; outbox and SES), [`deferred`] (work handed over: a local queue,
//! SQS), [`auth`] (token verification and issuing, JWKS, KMS), [`aws`] (the AWS SDK's
//! configuration), [`vault`] (OTP secrets at rest: a local key file, KMS). They import the
//! domain and the foundation.

pub mod auth;
pub mod aws;
pub mod deferred;
pub mod mail;
pub mod store;
pub mod vault;
