// Package template decides, for every connection, which value wins and who may
// see or set it.
//
// A [Manager] holds the integration versions a host registers
// ([Manager.Register]): each an [Integration] whose connection config
// variables ([connection.Variable]) bind a connection type, per-field
// defaults and visibilities, and optionally a connection template. On top of
// a [store.Store] and a [store.Sealer] it keeps:
//
//   - Connection templates ([Manager.CreateTemplate]): pre-filled values for
//     some fields of one component's connection type. The fields a template
//     fills are neither shown to anyone through an instance nor overridable.
//     A template can be updated until an integration version that references
//     it is published ([Manager.Publish]); after that [Manager.UpdateTemplate]
//     and [Manager.DeleteTemplate] return [ErrTemplateLocked] and the way
//     forward is a new template for a new integration version. Instances of
//     the published version keep resolving against the old template.
//   - Instances ([Manager.Deploy]): one customer's deployment of a registered
//     integration version, as a [connection.Instance].
//   - Instance values ([Manager.SetValues]), set by an [Audience]: the
//     customer may set only Customer fields, the host Customer and Embedded
//     fields, nobody Hidden fields or fields a template fills. A request with
//     any refused field changes nothing.
//
// # Resolution
//
// [Manager.Resolve] computes the effective values of one connection, each
// with the [connection.Source] it came from:
//
//	type defaults < template values < variable defaults < instance values
//
// A layer provides a field's value when it holds a non-empty value for it;
// setting a value to "" through [Manager.SetValues] removes the instance's
// value so that the layers below show through again. Fields a template fills
// are locked: the template's value is the effective one whatever the layers
// above hold (a variable default for such a field is a configuration error;
// an instance value for it is refused when set and ignored if a record holds
// one anyway). Instance values for Hidden fields are ignored the same way.
// [Resolution.Validate] then checks the values against the type: a required
// field still empty is reported by key and label.
//
// The sources matter beyond display: package oauth accepts an OAuth 2.0
// endpoint URL only from the layer that gives the client secret or a layer
// below it, so that nobody who can set a URL receives a secret someone else
// set (see "Who may choose the endpoints" in package oauth). A Resolver
// other than [Manager] must record Sources for that check to hold.
//
// # Views
//
// [Manager.BuilderView], [Manager.CustomerView] and [Manager.HostView]
// return a [View] per audience: plain data a host can render as a form or
// encode as JSON. No view ever holds a secret value (a secret field only says
// whether it is set) or a field a template fills; the customer view holds
// only Customer fields and the host view Customer and Embedded fields.
//
// # Source control
//
// [ExportYAML] and [ImportYAML] move an integration's connection config
// variables to and from YAML. The YAML holds each variable's full type
// declaration, non-secret defaults, visibilities, template reference (never
// the template's values), redirects and level. No secret value is ever
// written. Import validates everything and reports every problem with its
// line in an *[ImportError]. Export is deterministic, so export, import,
// export gives the same bytes.
//
// # Secrets
//
// Secret values (template values and instance values of secret fields) are
// sealed with the Manager's [store.Sealer] before they reach the store, bound
// with [store.AssociatedData] to ("template", template id, field) or
// ("connection", connection id, field). A [Resolution] holds them opened, in
// [connection.Values], which never prints a value.
package template
