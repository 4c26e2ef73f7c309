// Package components holds example components, written the way a component
// author writes them: each subpackage declares the connection type of one
// third-party service and a step that calls its API with the connection it
// is given, and tests the step against a fake of that API.
//
//   - s3: Amazon S3 (access key pair, region); lists buckets, signing the
//     request with AWS Signature Version 4 in the step.
//   - tableau: Tableau (server, site, personal access token); signs in for a
//     session token, lists projects, signs out.
//   - salesforce: OAuth 2.0; the token response's instance_url is kept and
//     used as the API base; tokens are revoked on DISCONNECT.
//   - quickbooks: OAuth 2.0 with revocation; the callback's realmId is kept
//     and used in the API path.
//   - slack: OAuth 2.0 with comma-separated scopes; Slack's "ok": false
//     answers become connection errors.
//   - renamed: a generic OAuth 2.0 type presented in the provider's words
//     ("Client ID" shown as "App ID") with connection.Type.Relabel.
//
// None of them contains auth plumbing: values, tokens, refreshes, retries
// and health come from the component.Conn each step receives.
package components
