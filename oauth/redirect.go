package oauth

import (
	"net/url"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// Query parameters of the custom success and failure redirects.
const (
	RedirectInstanceID      = "instanceId"
	RedirectInstanceName    = "instanceName"
	RedirectIntegrationID   = "integrationId"
	RedirectIntegrationName = "integrationName"
	// RedirectVariableID is requiredConfigVariableId. connkit's variables
	// have no id of their own, so it carries the connection's stable id,
	// like RedirectID: the one identity that survives DISCONNECT and a
	// later CONNECT and that the host can look up
	// (store.Connections.GetConnectionByID). With RedirectVariableKey and
	// RedirectInstanceID the host can also address the variable itself.
	RedirectVariableID  = "requiredConfigVariableId"
	RedirectVariableKey = "requiredConfigVariableKey"
	// RedirectID is the connection's stable id; for a user-level
	// connection, the id of that user's connection record.
	RedirectID = "id"
	// RedirectError is added to failure redirects: the provider's error
	// code (RFC 6749 sections 4.1.2.1 and 5.2, such as access_denied or
	// invalid_grant) when it sent one, else one of the RFC 6749 codes
	// connkit uses itself (invalid_request, server_error, ...).
	RedirectError = "error"
	// RedirectErrorDescription is added to failure redirects: connkit's own
	// short English description of what failed (for example "The provider
	// refused the authorization."), never the provider's
	// error_description, which is outside connkit's control and could
	// carry anything to the redirect's site. The provider's description is
	// in the connection's log.
	RedirectErrorDescription = "error_description"
)

// customRedirect returns the URL to send the browser to after a callback,
// or "" when the variable names no custom redirect for the outcome (or the
// one it names is not usable, which declaration-time validation prevents).
// Parameters already in the configured URL's query are kept unless connkit
// sets the same name.
func customRedirect(res *template.Resolution, connID string, ref connection.Ref, failed bool, code, description string) string {
	if res == nil {
		return ""
	}
	target := res.Variable.SuccessRedirect
	if failed {
		target = res.Variable.FailureRedirect
	}
	if target == "" {
		return ""
	}
	u, err := url.Parse(target)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
		u.User != nil || u.Fragment != "" || strings.Contains(target, "#") {
		return ""
	}
	q := u.Query()
	instanceID := res.Instance.ID
	if instanceID == "" {
		instanceID = ref.InstanceID
	}
	q.Set(RedirectInstanceID, instanceID)
	q.Set(RedirectInstanceName, res.Instance.Name)
	q.Set(RedirectIntegrationID, res.Instance.IntegrationID)
	q.Set(RedirectIntegrationName, res.Instance.IntegrationName)
	q.Set(RedirectVariableID, connID)
	q.Set(RedirectVariableKey, ref.Variable)
	q.Set(RedirectID, connID)
	if failed {
		q.Set(RedirectError, code)
		q.Set(RedirectErrorDescription, description)
	} else {
		q.Del(RedirectError)
		q.Del(RedirectErrorDescription)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
