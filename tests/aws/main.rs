//! Tests of the AWS parts with the real AWS SDK: SES v2 against moto and against endpoints
//! that fail on purpose, DynamoDB request counts per operation, and the agreement of
//! template.yaml with the table-setup code.

mod domain_copies;
mod kms;
mod requests;
mod restore;
mod ses;
mod template;
