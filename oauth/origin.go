package oauth

import (
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// The origin check. A connection's client secret goes, with every code,
// PKCE verifier and refresh token of its grants, to its token and
// revocation URLs; its authorize URL decides where its customers sign in.
// Whoever sets one of these URLs therefore holds the client secret as much
// as whoever set the secret. Each resolved value knows the layer it came
// from (template.Resolution.Sources), in order of precedence:
//
//	type default < template < variable default < instance value (host or customer)
//
// and the layers are set by parties the host does not trust alike: the
// component author (type defaults), the host or whoever it lets make
// templates, the integration builder (variable defaults), who may be a
// customer in an embedded designer, and the host or the customer for
// instance values. So an endpoint URL is accepted only from the layer that
// gives the client secret or one below it in precedence:
//
//   - a secret the host set on the instance (or a value without a recorded
//     source, which counts as the host's) goes with URLs from type
//     defaults, templates, variable defaults or the host's instance values;
//   - a secret from a variable default goes with URLs from type defaults,
//     templates and variable defaults;
//   - a secret from a template goes with URLs from type defaults and
//     templates: a builder cannot point a host-made template's client at
//     themselves with a variable default;
//   - a secret from a type default goes with type defaults' URLs only;
//   - a URL the customer set on the instance goes only with a secret the
//     customer set too: a customer who brings their own client may point it
//     wherever they like, but never receives anyone else's secret;
//   - a client without secret has nothing to lose this way: no check.
//
// A URL without a recorded source (one filled in from the authorization
// server's metadata, or from the pending authorization in the callback)
// counts as the type's: it comes from the host's own configuration.
// Tenant-specific hosts belong in URL templates in the type's defaults
// ("https://{shop}.myshopify.com/..."), filled in with single DNS labels.

// layerRank orders sources by precedence; instance values, the host's and
// the customer's alike, rank highest, and no source lowest.
func layerRank(s connection.Source) int {
	switch s {
	case connection.SourceTypeDefault:
		return 1
	case connection.SourceTemplate:
		return 2
	case connection.SourceVariableDefault:
		return 3
	case connection.SourceHost, connection.SourceCustomer:
		return 4
	}
	return 0
}

// layerName names a source in a refusal.
func layerName(s connection.Source) string {
	switch s {
	case connection.SourceTypeDefault:
		return "a type default"
	case connection.SourceTemplate:
		return "the template"
	case connection.SourceVariableDefault:
		return "a variable default"
	case connection.SourceHost:
		return "an instance value set by the host"
	case connection.SourceCustomer:
		return "the customer"
	}
	return "no recorded layer"
}

// checkOrigin refuses a connection with a client secret whose endpoint URLs
// (authorize, token, revoke) come from a layer above the secret's (see the
// rule above), or from the customer while the secret is not the
// customer's. It relies on res.Sources (which template.Manager fills); a
// secret without a recorded source counts as the host's instance value, a
// URL without one as a type default. Its refusals are *refusal errors
// matching ErrMisconfigured that name the field and both layers, never a
// value.
func checkOrigin(res *template.Resolution, values connection.Values) error {
	if values.String(connection.FieldClientSecret) == "" {
		return nil
	}
	secretFrom := res.Sources[connection.FieldClientSecret]
	switch secretFrom {
	case connection.SourceCustomer:
		return nil
	case connection.SourceNone:
		secretFrom = connection.SourceHost
	}
	for _, f := range endpointFields {
		if values.String(f.key) == "" {
			continue
		}
		from := res.Sources[f.key]
		var reason string
		switch {
		case from == connection.SourceCustomer:
			reason = "the " + f.name + " was set by the customer, who did not provide the client secret it would be sent with"
		case layerRank(from) > layerRank(secretFrom):
			reason = "the " + f.name + " comes from " + layerName(from) + ", a layer above the one giving the client secret (" +
				layerName(secretFrom) + "): endpoint URLs may come only from the client secret's layer or one below it"
		default:
			continue
		}
		return refused(reason, fmt.Errorf("oauth: connection %s: %s: %w", res.Ref, reason, ErrMisconfigured))
	}
	return nil
}
